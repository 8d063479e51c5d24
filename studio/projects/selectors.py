"""Reads of projects for pages: the team's list (active or archived) and the dashboard's recent ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from studio.projects.models import Project

if TYPE_CHECKING:
    from studio.assets.models import Asset
    from studio.teams.models import Team


def project_list(*, team: Team, archived: bool = False) -> QuerySet[Project]:
    return Project.objects.filter(team=team, archived_at__isnull=not archived).order_by("-updated_at", "-pk")


def archived_count(*, team: Team) -> int:
    return Project.objects.filter(team=team, archived_at__isnull=False).count()


def recent_projects(*, team: Team, limit: int = 6) -> list[Project]:
    return list(project_list(team=team)[:limit])


def pinned_assets(project: Project, *, limit: int = 8) -> list[Asset]:
    from studio.moderation.visibility import hidden_asset_q

    return list(project.assets.exclude(hidden_asset_q()).order_by("-created_at")[:limit])
