"""Reads of teams, memberships and invitations for pages (access decisions stay in ``studio.teams.access``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from studio.teams.models import Invitation, Membership, Team

if TYPE_CHECKING:
    from studio.accounts.models import User


def memberships_of(user: User) -> QuerySet[Membership]:
    """The user's memberships, by team name (the "All teams" page)."""
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")


def team_members(team: Team) -> list[Membership]:
    return list(team.memberships.select_related("user").order_by("created_at"))


def open_invitations(team: Team) -> QuerySet[Invitation]:
    """Invitations neither accepted nor revoked (expired ones included: the page marks them)."""
    return team.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).select_related("invited_by")
