"""Request guards that apply to every route, before any view runs.

``BadInputMiddleware`` refuses, with a 400 and a plain message, a request whose path, query string or url-encoded
form carries a NUL byte or an absurdly long value (security review, issue 13 finding 8). No field of ours takes a
NUL, and PostgreSQL cannot store one in a text column, so a NUL reaching a query is at best a 500. A query-string
value longer than ``INPUT_MAX_VALUE_CHARS`` is never legitimate; url-encoded form values get the much larger
``INPUT_MAX_FORM_VALUE_CHARS``, so a too-long prompt still reaches its form and gets the form's own message.
Multipart forms are left to the forms themselves (Django's CharField refuses NULs too).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict

DEFAULT_MAX_VALUE_CHARS = 4096
DEFAULT_MAX_FORM_VALUE_CHARS = 65536


def _max_chars() -> int:
    return int(getattr(settings, "INPUT_MAX_VALUE_CHARS", DEFAULT_MAX_VALUE_CHARS))


def _max_form_chars() -> int:
    # Forms carry prompts and descriptions whose own limits the forms explain better; only absurd values stop here.
    return int(getattr(settings, "INPUT_MAX_FORM_VALUE_CHARS", DEFAULT_MAX_FORM_VALUE_CHARS))


def bad_query(data: QueryDict, *, limit: int) -> str:
    """Why ``data`` is refused ("" when it is acceptable)."""
    for key, values in data.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return f"The parameter {key[:40]!r} contains a NUL byte."
        if len(key) > limit or any(len(value) > limit for value in values):
            return f"The parameter {key[:40]!r} is longer than {limit} characters."
    return ""


class BadInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        reason = self._reason(request)
        if reason:
            return HttpResponseBadRequest(reason, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def _reason(self, request: HttpRequest) -> str:
        limit = _max_chars()
        raw_path = request.META.get("PATH_INFO", "")
        if "\x00" in raw_path:
            return "The address contains a NUL byte."
        if len(raw_path) > limit:
            return f"The address is longer than {limit} characters."
        reason = bad_query(request.GET, limit=limit)
        if reason:
            return reason
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            return bad_query(request.POST, limit=_max_form_chars())
        return ""


class FriendlyErrorPagesMiddleware:
    """With DEBUG on (``make run``), Django answers a 404 with its technical page, which lists every URL pattern.
    Only staff get that page; everyone else gets the friendly ``404.html``, as in production (issue 13 finding 14).
    403s already use ``403.html`` in every mode. Innermost, so it sees the resolver's 404 as a response."""

    # Django's technical pages (404 and 500) carry this tag; our templates do not.
    _TECHNICAL_MARKER = b'<meta name="robots" content="NONE,NOARCHIVE">'

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not settings.DEBUG or response.status_code != 404 or getattr(response, "streaming", False):
            return response
        if self._TECHNICAL_MARKER not in response.content:
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return response
        from django.shortcuts import render

        return render(request, "404.html", status=404)
