from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from studio.teams.access import ROLE_PERMISSIONS, teams_for

if TYPE_CHECKING:
    from studio.accounts.models import User


def _unread_count(request: HttpRequest) -> int:
    from studio.notifications.selectors import unread_count

    return unread_count(cast("User", request.user))


def _my_teams(request: HttpRequest) -> list[Any]:
    """The user's teams by name. ``access.active_membership`` (run by the middleware for ``request.membership``) read
    every membership of the user with its team, in this order, a moment ago: reuse them instead of a second query."""
    snapshot = getattr(request, "memberships_snapshot", None)
    if snapshot is not None:
        return [membership.team for membership in snapshot]
    return list(teams_for(request.user).order_by("name"))


def active_team(request: HttpRequest) -> dict[str, Any]:
    """The active team, the user's permissions in it (``perms_in_team``), their teams and their unread notification
    count, for the layout. Lazy where a query is involved, so pages that do not show them pay nothing."""
    membership = getattr(request, "membership", None)
    if membership is None or not request.user.is_authenticated:
        return {}
    common: dict[str, Any] = {
        "my_teams": SimpleLazyObject(lambda: _my_teams(request)),
        "unread_notifications": SimpleLazyObject(lambda: _unread_count(request)),
    }
    if not membership:
        return common
    return {
        **common,
        "membership": membership,
        "active_team": membership.team,
        "perms_in_team": {perm.value for perm in ROLE_PERMISSIONS[membership.role]},
    }
