"""API: projects of the token's team (list, create, archive). Changes go through ``studio.projects.services``."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from studio.apikit import ApiError, In, ObjectId, errors, team_of, token_of, user_of
from studio.projects.models import Project
from studio.projects.services import ProjectError, project_archive, project_create
from studio.teams import access
from studio.teams.access import Perm

router = Router()


class ProjectOut(Schema):
    id: int
    name: str
    description: str
    archived: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def of(project: Project) -> ProjectOut:
        return ProjectOut(
            id=project.pk,
            name=project.name,
            description=project.description,
            archived=project.is_archived,
            created_at=project.created_at,
            updated_at=project.updated_at,
        )


class ProjectIn(In):
    name: str = Field(..., max_length=120)
    description: str = Field("", max_length=2000)


class ProjectFilters(Schema):
    archived: bool = False


@router.get("", response={200: list[ProjectOut], **errors()}, summary="List projects")
def project_list(request: HttpRequest, filters: Query[ProjectFilters]) -> list[ProjectOut]:
    token = token_of(request)
    projects = access.token_visible(token, Project.objects.all()).filter(archived_at__isnull=not filters.archived)
    return [ProjectOut.of(p) for p in projects.order_by("-updated_at", "-pk")]


@router.post("", response={201: ProjectOut, **errors(403, 422)}, summary="Create a project")
def project_create_view(request: HttpRequest, body: ProjectIn) -> Status[ProjectOut]:
    team = team_of(request, Perm.EDIT)
    try:
        project = project_create(team=team, user=user_of(request), name=body.name, description=body.description)
    except ProjectError as exc:
        raise ApiError(422, "validation_error", str(exc), field="name") from exc
    return Status(201, ProjectOut.of(project))


@router.get("/{project_id}", response={200: ProjectOut, **errors(404)}, summary="Get a project")
def project_get(request: HttpRequest, project_id: ObjectId) -> ProjectOut:
    return ProjectOut.of(access.token_get(token_of(request), Project.objects.all(), pk=project_id))


@router.post("/{project_id}/archive", response={200: ProjectOut, **errors(403, 404)}, summary="Archive a project")
def project_archive_view(request: HttpRequest, project_id: ObjectId) -> ProjectOut:
    """Archiving hides the project from lists; nothing is deleted. Archiving twice changes nothing."""
    project = access.token_get(token_of(request), Project.objects.all(), perm=Perm.EDIT, pk=project_id)
    return ProjectOut.of(project_archive(project=project))
