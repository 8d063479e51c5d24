"""Project services. A project belongs to one team for life; archiving hides it without deleting anything."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from studio.projects.models import Project
from studio.teams.directory import directory_changed

if TYPE_CHECKING:
    from studio.accounts.models import User
    from studio.teams.models import Team


class ProjectError(Exception):
    """A project rule refused the change; the message is user-facing."""


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ProjectError("A project needs a name.")
    return name


@transaction.atomic
def project_create(*, team: Team, user: User, name: str, description: str = "") -> Project:
    project = Project.objects.create(
        team=team, name=_clean_name(name), description=description.strip(), created_by=user
    )
    directory_changed(team.pk)
    return project


@transaction.atomic
def project_update(*, project: Project, name: str, description: str) -> Project:
    project.name = _clean_name(name)
    project.description = description.strip()
    project.save(update_fields=["name", "description", "updated_at"])
    directory_changed(project.team_id)
    return project


@transaction.atomic
def project_archive(*, project: Project) -> Project:
    """Archive the project. Archiving twice is a no-op (the first timestamp is kept)."""
    if Project.objects.filter(pk=project.pk, archived_at__isnull=True).update(archived_at=timezone.now()):
        directory_changed(project.team_id)
    project.refresh_from_db()
    return project


@transaction.atomic
def project_restore(*, project: Project) -> Project:
    Project.objects.filter(pk=project.pk).update(archived_at=None, updated_at=timezone.now())
    directory_changed(project.team_id)
    project.refresh_from_db()
    return project
