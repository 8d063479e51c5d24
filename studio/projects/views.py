"""Project pages. Lists start from the active team; single projects come through ``access.get_project_for_user``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from studio.accounts.models import User
from studio.projects import selectors, services
from studio.projects.forms import ProjectForm
from studio.projects.models import Project
from studio.teams import access
from studio.teams.access import Perm

PAGE_SIZE = 20


def _user(request: HttpRequest) -> User:
    """The logged-in user (the views below are all behind login_required)."""
    return access.request_user(request)


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    membership = access.require_active_membership(request)
    show_archived = request.GET.get("archived") == "1"
    projects = selectors.project_list(team=membership.team, archived=show_archived)
    page = Paginator(projects, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "show_archived": show_archived,
        "archived_count": selectors.archived_count(team=membership.team),
    }
    return render(request, "projects/list.html", context)


@login_required
def project_create(request: HttpRequest) -> HttpResponse:
    membership = access.require_active_membership(request, Perm.EDIT)
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(
                team=membership.team,
                user=_user(request),
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except services.ProjectError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Project {project.name} created.")
            return redirect("projects:detail", pk=project.pk)
    return render(request, "projects/form.html", {"form": form, "team": membership.team})


@login_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The project with its video library. The viewer's permissions are asked once and shared with the library (each
    ``access.can`` is a membership query), the active team's membership (read by the middleware) answers it when the
    project is in that team, and the creator shown under the title comes with the project."""
    queryset = Project.objects.select_related("team", "created_by")
    project, perms = access.get_with_perms_for_user(
        request.user, queryset, pk=pk, known=getattr(request, "membership", None) or None
    )
    from generations.library import library_context

    context = {
        **library_context(request, team=project.team, project=project, perms=perms),
        "project": project,
        "assets": selectors.pinned_assets(project),
        "can_edit": Perm.EDIT in perms,
        "can_restore": Perm.DELETE in perms,
    }
    return render(request, "projects/detail.html", context)


@login_required
def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, pk, Perm.EDIT)
    form = ProjectForm(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update(
                project=project, name=form.cleaned_data["name"], description=form.cleaned_data["description"]
            )
        except services.ProjectError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, "Project saved.")
            return redirect("projects:detail", pk=project.pk)
    return render(request, "projects/form.html", {"form": form, "project": project, "team": project.team})


@login_required
@require_POST
def project_archive(request: HttpRequest, pk: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, pk, Perm.EDIT)
    services.project_archive(project=project)
    messages.success(request, f"Project {project.name} archived. You can restore it from the archived list.")
    return redirect("projects:list")


@login_required
@require_POST
def project_restore(request: HttpRequest, pk: int) -> HttpResponse:
    project = access.get_project_for_user(request.user, pk, Perm.DELETE)
    services.project_restore(project=project)
    messages.success(request, f"Project {project.name} restored.")
    return redirect("projects:detail", pk=project.pk)
