from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from studio.teams.access import active_membership


class ActiveTeamMiddleware:
    """Puts ``request.membership`` (the user's membership of their active team, or None) on every request, lazily."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = SimpleLazyObject(lambda: active_membership(request))  # type: ignore[attr-defined]
        return self.get_response(request)
