"""Templates ask the access module what the viewer may do in the team *of the object on the page*.

``{% perms_for project.team_id as perms %}{% if "generate" in perms %}…`` — never the active team's permissions,
which describe a different team whenever the page belongs to another of the user's teams.
"""

from __future__ import annotations

from typing import Any

from django import template

from studio.teams.access import permissions_for
from studio.teams.models import Team

register = template.Library()


@register.simple_tag(takes_context=True)
def perms_for(context: dict[str, Any], team: Team | int) -> frozenset[str]:
    request = context.get("request")
    if request is None:
        return frozenset()
    return frozenset(perm.value for perm in permissions_for(request.user, team))
