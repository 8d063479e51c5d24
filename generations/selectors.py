"""Selectors: read-only queries for pages. Every one starts from ``studio.teams.access.visible_to``/``get_for_user``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import QuerySet

from generations.models import GenerationJob
from studio.teams import access
from studio.teams.access import Perm

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from studio.accounts.models import User
    from studio.projects.models import Project


def job_for_user(user: User | AnonymousUser, pk: UUID | str, *, perm: Perm = Perm.VIEW) -> GenerationJob:
    """One job the user may see (404 for outsiders, 403 when the role lacks ``perm``)."""
    queryset = GenerationJob.objects.select_related("project", "team", "creator", "parent", "moderation_case")
    return access.get_for_user(user, queryset, perm=perm, pk=pk)


def project_jobs(user: User | AnonymousUser, project: Project, *, limit: int = 60) -> QuerySet[GenerationJob]:
    """The project's jobs, newest first (the video library)."""
    queryset = GenerationJob.objects.filter(project=project).exclude(state="draft")
    return (
        access.visible_to(user, queryset).select_related("creator", "moderation_case").order_by("-created_at")[:limit]
    )


def job_events(job: GenerationJob) -> QuerySet[Any]:
    return job.events.select_related("actor").order_by("at", "id")
