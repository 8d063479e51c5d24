"""Pages that belong to no single app: the dashboard."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from generations.models import GenerationJob
from studio.assets.models import Asset
from studio.assets.selectors import recent_assets
from studio.notifications.services import notify
from studio.projects.models import Project
from studio.projects.selectors import recent_projects
from studio.teams.access import Perm, active_membership, request_user, role_allows
from studio.teams.models import Membership


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    membership = active_membership(request)
    if membership is None:  # e.g. a user made with createsuperuser, or whose only team was deleted
        return render(request, "dashboard_no_team.html")
    team = membership.team
    user = request_user(request)
    # The first visit is the one that records the welcome notification (keyed, so it happens once per user).
    first_visit = notify(
        user=user,
        kind="welcome",
        message="Welcome to Studio! Open a project, upload a reference image and make your first video.",
        url=reverse("dashboard"),
        key="welcome",
    )
    projects = recent_projects(team=team)
    has_asset = Asset.objects.filter(team=team).exists()
    has_video = GenerationJob.objects.filter(team=team, creator=user).exists()
    context = {
        "first_visit": first_visit,
        "next_steps": _next_steps(projects=projects, has_asset=has_asset, has_video=has_video, membership=membership),
        "team": team,
        "membership": membership,
        "projects": projects,
        "assets": recent_assets(team=team),
        "member_count": team.memberships.count(),
        "can_edit": role_allows(membership.role, Perm.EDIT),
        "can_upload": role_allows(membership.role, Perm.UPLOAD),
        "can_invite": role_allows(membership.role, Perm.INVITE),
    }
    return render(request, "dashboard.html", context)


def _next_steps(
    *, projects: list[Project], has_asset: bool, has_video: bool, membership: Membership
) -> list[dict[str, object]]:
    """What a new user does next, in order, each with its link (shown until they have made a video)."""
    role = membership.role
    if not any(role_allows(role, perm) for perm in (Perm.EDIT, Perm.UPLOAD, Perm.GENERATE)):
        return []  # a viewer has nothing to set up: the dashboard's lists are what they came for
    project = projects[0] if projects else None
    steps: list[dict[str, object]] = []
    if project is None:
        if role_allows(role, Perm.EDIT):
            steps.append({"text": "Create a project: a folder for your videos", "url": reverse("projects:create")})
    else:
        steps.append({"text": f"Open {project.name}", "url": reverse("projects:detail", kwargs={"pk": project.pk})})
    if not has_asset and role_allows(role, Perm.UPLOAD):
        steps.append({"text": "Upload a reference image to animate", "url": reverse("assets:upload")})
    if not has_video and project is not None and role_allows(role, Perm.GENERATE):
        url = reverse("generations:compose", kwargs={"project_pk": project.pk})
        steps.append({"text": "Make your first video (you see the price before anything is charged)", "url": url})
    elif not has_video and role_allows(role, Perm.GENERATE):
        steps.append({"text": "Then make your first video in it", "url": ""})
    return steps if not has_video else []
