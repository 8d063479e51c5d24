"""Pages that belong to no single app: the dashboard."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from studio.assets.models import Asset
from studio.projects.models import Project
from studio.teams.access import Perm, active_membership, role_allows


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    membership = active_membership(request)
    if membership is None:  # e.g. a user made with createsuperuser, or whose only team was deleted
        return render(request, "dashboard_no_team.html")
    team = membership.team
    context = {
        "team": team,
        "membership": membership,
        "projects": Project.objects.filter(team=team, archived_at__isnull=True).order_by("-updated_at")[:6],
        "assets": Asset.objects.filter(team=team).order_by("-created_at")[:8],
        "member_count": team.memberships.count(),
        "can_edit": role_allows(membership.role, Perm.EDIT),
        "can_upload": role_allows(membership.role, Perm.UPLOAD),
        "can_invite": role_allows(membership.role, Perm.INVITE),
    }
    return render(request, "dashboard.html", context)
