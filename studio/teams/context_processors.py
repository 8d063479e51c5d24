from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from studio.teams.access import ROLE_PERMISSIONS, teams_for


def active_team(request: HttpRequest) -> dict[str, Any]:
    """The active team, the user's permissions in it (``perms_in_team``) and their teams, for the layout."""
    membership = getattr(request, "membership", None)
    if membership is None or not request.user.is_authenticated:
        return {}

    if not membership:
        return {"my_teams": teams_for(request.user)}
    return {
        "membership": membership,
        "active_team": membership.team,
        "perms_in_team": {perm.value for perm in ROLE_PERMISSIONS[membership.role]},
        "my_teams": teams_for(request.user),
    }
