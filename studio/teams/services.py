"""Team services. Invariants: a team always has at least one owner; a user has at most one personal team."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.crypto import get_random_string
from django.utils.text import slugify

from studio.teams.models import Membership, Role, Team

if TYPE_CHECKING:
    from studio.accounts.models import User


def _unique_slug(name: str) -> str:
    base = slugify(name)[:100] or "team"
    slug = base
    while Team.objects.filter(slug=slug).exists():
        slug = f"{base}-{get_random_string(6).lower()}"
    return slug


@transaction.atomic
def team_create(*, owner: User, name: str, is_personal: bool = False) -> Team:
    team = Team.objects.create(name=name.strip(), slug=_unique_slug(name), is_personal=is_personal, created_by=owner)
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


@transaction.atomic
def team_create_personal(*, user: User) -> Team:
    existing = Team.objects.filter(created_by=user, is_personal=True).first()
    if existing is not None:
        return existing
    return team_create(owner=user, name=f"{user.display_name}'s studio", is_personal=True)
