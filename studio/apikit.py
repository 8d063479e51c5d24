"""What every router of the REST API (``/api/v1/``) shares: Bearer authentication over ``ApiToken``, the one error
shape, per-token rate limits and cursor pagination. ``studio/api.py`` builds the NinjaAPI from these.

Errors always look like ``{"error": {"code": "...", "message": "...", "field": "..." | null}}`` (``details`` lists every
message when a request has several problems). Status codes: 400 malformed body, 422 invalid input (the validation
module's messages), 401 no/unknown/expired token, 402 credits or cap, 403 role, 404 not found (also for another
team's objects), 409 state conflict, 413 too large, 429 rate limited (with ``Retry-After``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Schema
from ninja.params import functions as param_functions
from ninja.security import HttpBearer
from pydantic import field_validator

from studio import windows
from studio.accounts.services import api_token_authenticate
from studio.teams import access
from studio.teams.access import Perm

if TYPE_CHECKING:
    from studio.accounts.models import ApiToken, User
    from studio.teams.models import Team

MAX_ID = 2**31 - 1  # ids above this cannot exist (and would overflow an integer column in the query)
#: A path parameter that is an object id (bounded, so no lookup can overflow the column).
ObjectId = Annotated[int, param_functions.Path(..., ge=1, le=MAX_ID)]


class ApiError(Exception):
    """Raised anywhere under an API view; rendered as the one error shape with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None
    details: list[dict[str, Any]] | None = None


class ErrorOut(Schema):
    error: ErrorDetail


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """``response=`` entries for the error statuses an operation may answer (401 is always possible)."""
    return dict.fromkeys({401, *statuses}, ErrorOut)


class In(Schema):
    """Base of every request body: text may not contain NUL characters (PostgreSQL cannot store them)."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("Text may not contain NUL characters.")
        return value


def _has_nul(value: Any) -> bool:
    """True when ``value`` is text with a NUL character, or a list/dict holding one (at any depth)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


# --- Authentication ---------------------------------------------------------------------------------------------------


class TokenAuth(HttpBearer):
    """``Authorization: Bearer stu_…``. ``request.auth`` is the ``ApiToken`` (scope: its team and role)."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return api_token_authenticate(raw=token.strip())


def token_of(request: HttpRequest) -> ApiToken:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def user_of(request: HttpRequest) -> User:
    return token_of(request).user


def team_of(request: HttpRequest, perm: Perm = Perm.VIEW) -> Team:
    """The token's team, when its effective role grants ``perm`` (404 if the user left it, 403 for the role)."""
    token = token_of(request)
    return access.token_require(token, token.team_id or 0, perm)


# --- Rate limits ------------------------------------------------------------------------------------------------------


def rate_limit(request: HttpRequest, kind: str) -> None:
    """Count one ``kind`` action ("submit", "upload") for the request's token; 429 with ``Retry-After`` past the limit.

    A window per token (``API_RATE_LIMITS[kind] = (count, seconds)``, ``studio.windows``): it starts at the token's
    first action after its last window ended, and ``Retry-After`` is when it ends."""
    limits: dict[str, tuple[int, int]] = settings.API_RATE_LIMITS
    if kind not in limits:
        return
    allowed, seconds = limits[kind]
    window = windows.count(f"api:rate:{kind}:{token_of(request).pk}", seconds=seconds)
    if window.total > allowed:
        retry_after = max(1, math.ceil(window.ends_at - time.time()))
        raise ApiError(
            429,
            "rate_limited",
            f"Too many {kind} requests for this token: at most {allowed} per {seconds} s. "
            f"Try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


# --- Cursor pagination ------------------------------------------------------------------------------------------------


def encode_cursor(created_at: datetime, pk: object) -> str:
    raw = json.dumps([created_at.isoformat(), str(pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, pk) of a cursor from ``encode_cursor``; 422 for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created), str(pk)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, "invalid_cursor", "The cursor is not one this API returned.", field="cursor") from None
