"""Reads of the reference-asset library: the team's list (search, tags, retired), pickers, and lineage counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from studio.assets.models import Asset, AssetTag
from studio.moderation.visibility import hidden_asset_q

if TYPE_CHECKING:
    from studio.teams.models import Team


def asset_list(*, team: Team, query: str = "", tag: str = "", retired: bool = False) -> QuerySet[Asset]:
    """The team's assets, newest first. ``query`` matches name, ``@ref_name`` or tag; ``@dog`` (a leading ``@``) looks
    for the reference name itself. Retired assets are listed only when asked for; taken-down ones never."""
    assets = Asset.objects.filter(team=team, retired_at__isnull=not retired).exclude(hidden_asset_q())
    assets = assets.select_related("project")
    assets = assets.prefetch_related("tags")
    if query.startswith("@"):
        name = query[1:].strip()
        assets = assets.filter(ref_name__istartswith=name) if name else assets
    elif query:
        matching_tags = AssetTag.objects.filter(team=team, name__icontains=query).values("assets")
        assets = assets.filter(Q(name__icontains=query) | Q(ref_name__icontains=query) | Q(pk__in=matching_tags))
    if tag:
        assets = assets.filter(tags__name=tag)
    return assets.order_by("-created_at", "-pk")


def picker_assets(*, team_id: int) -> QuerySet[Asset]:
    """What the composer offers: the team's assets that are neither retired nor taken down."""
    assets = Asset.objects.filter(team_id=team_id, retired_at__isnull=True).exclude(hidden_asset_q())
    return assets.order_by("-created_at", "-pk")


def tags_in_use(*, team: Team) -> QuerySet[AssetTag]:
    return AssetTag.objects.filter(team=team, assets__isnull=False).distinct().order_by("name")


def usage_count(asset: Asset) -> int:
    """How many jobs used the asset (the delete page says so before anything is deleted)."""
    from generations.models import JobReference

    return JobReference.objects.filter(asset=asset).values("job_id").distinct().count()


def recent_assets(*, team: Team, limit: int = 8) -> list[Asset]:
    return list(Asset.objects.filter(team=team).exclude(hidden_asset_q()).order_by("-created_at")[:limit])
