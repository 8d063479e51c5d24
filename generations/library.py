"""Library pages: a project's videos and the team's "All videos", with the same filters, search, keyset pages, status
refresh (only the running cards) and multi-select actions (zip download, delete, move, favourite).

Reads go through ``generations.selectors`` (``visible_jobs``); writes through ``generations.services.library``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from generations import selectors
from generations.cards import FIELDS as CARD_FIELDS
from generations.cards import build_cards
from generations.models import ModeChoice, ZipExport
from generations.providers.base import RESOLUTIONS
from generations.providers.registry import provider_choices
from generations.services import library as library_services
from generations.services.library import LibraryError
from studio.projects.models import Project
from studio.teams import access
from studio.teams.access import Perm
from studio.teams.directory import team_directory
from studio.teams.models import Team

FILTER_PARAMS = ("q", "state", "mode", "provider", "resolution", "creator", "from", "to", "fav")


def library_context(
    request: HttpRequest, *, team: Team, project: Project | None, perms: frozenset[Perm] | None = None
) -> dict[str, Any]:
    """Everything the library template needs: the page of cards, the filters (echoed back), the choices, and what the
    viewer may do. A fixed number of queries whatever the library's size.

    ``perms``: the viewer's permissions in ``team`` when the caller already asked ``access.permissions_for`` (the
    project page needs them too); asked here otherwise."""
    filters = selectors.LibraryFilters.from_query(request.GET)
    # The creator filter lists the members, each card names its creator, and editors are offered "Move" to the team's
    # other open projects: all from the team's cached directory (no query while neither changes).
    directory = team_directory(team)
    page = selectors.library_page(
        request.user,
        team=team,
        project=project,
        filters=filters,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        only=CARD_FIELDS,
        people=directory.people,
    )
    kept = {name: request.GET[name] for name in FILTER_PARAMS if request.GET.get(name)}
    if perms is None:
        perms = access.permissions_for(request.user, team)
    may_edit = Perm.EDIT in perms
    here = project.pk if project is not None else None
    move_targets = [(pk, name) for pk, name in directory.projects if pk != here] if may_edit else []
    return {
        "library": page,
        "library_cards": build_cards(page.jobs, request.user),
        "library_team": team,
        "library_project": project,
        "filters": filters,
        "filter_query": urlencode(kept),
        "next_query": urlencode({**kept, "after": page.next_cursor}) if page.next_cursor else "",
        "prev_query": urlencode({**kept, "before": page.prev_cursor}) if page.prev_cursor else "",
        "state_choices": [(key, label) for key, (label, _states) in selectors.STATE_FILTERS.items()],
        "mode_choices": ModeChoice.choices,
        "provider_choices": provider_choices(enabled_only=False),
        "resolution_choices": RESOLUTIONS,
        "creator_choices": directory.members,
        "move_targets": move_targets,
        "may_generate": Perm.GENERATE in perms,
        "may_edit": may_edit,
        "may_delete_any": Perm.DELETE in perms,
        "library_url": request.path,
    }


@login_required
@require_GET
def team_videos(request: HttpRequest) -> HttpResponse:
    """The active team's "All videos": every project's videos with the project library's controls."""
    membership = access.require_active_membership(request)
    context = library_context(request, team=membership.team, project=None)
    return render(request, "generations/videos.html", context)


@login_required
@require_GET
def project_library(request: HttpRequest, project_pk: int) -> HttpResponse:
    """htmx fragment: the project's library (the same template the project page includes)."""
    project = access.get_project_for_user(request.user, project_pk)
    context = {"project": project, **library_context(request, team=project.team, project=project)}
    context["library_url"] = _project_url(project)
    return render(request, "generations/_library.html", context)


def _project_url(project: Project) -> str:
    from django.urls import reverse

    return reverse("projects:detail", kwargs={"pk": project.pk})


@login_required
@require_GET
def library_refresh(request: HttpRequest) -> HttpResponse:
    """htmx: fresh cards for the ids that were still running (out-of-band swaps) and the next refresh trigger."""
    ids = [value for value in request.GET.get("ids", "").split(",") if value][: selectors.MAX_PAGE_SIZE]
    jobs = selectors.active_cards(request.user, ids)
    return render(
        request,
        "generations/_library_refresh.html",
        {
            "cards": build_cards(jobs, request.user),
            "active_ids": [str(job.pk) for job in jobs if not job.is_terminal],
        },
    )


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    from django.urls import reverse

    return reverse("generations:videos")


@login_required
@require_POST
def library_bulk(request: HttpRequest) -> HttpResponseBase:
    """One multi-select action on the chosen videos: ``zip``, ``delete``, ``move``, ``favourite``, ``unfavourite``."""
    user = access.request_user(request)
    team = access.get_team_for_user(user, _int(request.POST.get("team")))
    action = request.POST.get("action", "")
    jobs = list(
        selectors.jobs_by_ids(user, team, request.POST.getlist("job"))
        .select_related("project", "creator", "team")
        .prefetch_related("references")
        .order_by("-created_at", "-pk")
    )
    back = _back(request)
    if not jobs:
        messages.error(request, "Select at least one video first (tick the box on its card).")
        return redirect(back)
    try:
        if action == "zip":
            members = library_services.zip_check(jobs)
            if library_services.zip_should_stream(members):
                stream = library_services.zip_stream(members)
                response = StreamingHttpResponse(stream, content_type="application/zip")
                response["Content-Length"] = str(len(stream))
                name = _zip_name(team, jobs)
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
            export = library_services.zip_export_create(user=user, team=team, jobs=jobs, name=_zip_name(team, jobs))
            messages.info(request, f"Preparing a download of {export.total} videos; this page shows its progress.")
            return redirect("generations:export", pk=export.pk)
        if action == "delete":
            count = library_services.videos_delete(user=user, jobs=jobs, request=request)
            messages.success(request, f"Deleted {count} video{'s' if count != 1 else ''}. The charges stay on record.")
        elif action == "move":
            target = access.get_project_for_user(user, _int(request.POST.get("project")), Perm.EDIT)
            count = library_services.videos_move(user=user, jobs=jobs, project=target)
            messages.success(request, f"Moved {count} video{'s' if count != 1 else ''} to {target.name}.")
        elif action in ("favourite", "unfavourite"):
            library_services.videos_favourite(user=user, jobs=jobs, on=action == "favourite")
            verb = "Added to" if action == "favourite" else "Removed from"
            messages.success(request, f"{verb} your favourites: {len(jobs)} video{'s' if len(jobs) != 1 else ''}.")
        else:
            messages.error(request, "Choose what to do with the selected videos.")
    except LibraryError as exc:
        messages.error(request, str(exc))
    return redirect(back)


def _zip_name(team: Team, jobs: list[Any]) -> str:
    from django.utils.text import slugify

    projects = {job.project_id for job in jobs}
    base = slugify(jobs[0].project.name) if len(projects) == 1 else slugify(team.name)
    return f"{base or 'videos'}_{len(jobs)}-videos.zip"


def _int(value: object) -> int:
    from django.http import Http404

    text = str(value or "")
    if not text.isdigit() or len(text) > 12:
        raise Http404("Not found.")
    return int(text)


@login_required
@require_GET
def export_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A background zip: its progress (the page refreshes itself) and the link once it is ready."""
    user = access.request_user(request)
    export = ZipExport.objects.filter(pk=pk, user=user).select_related("team").first()
    if export is None:
        from django.http import Http404

        raise Http404("No such download.")
    access.require_membership(user, export.team_id)
    template = "generations/_export.html" if getattr(request, "htmx", False) else "generations/export.html"
    return render(request, template, {"export": export})
