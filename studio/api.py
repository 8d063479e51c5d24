"""The REST API at ``/api/v1/`` (DESIGN.md §6): one NinjaAPI, one router per app, one error shape (studio/apikit.py).

OpenAPI at ``/api/v1/openapi.json``, interactive docs at ``/api/v1/docs``. Every operation needs
``Authorization: Bearer <token>``; a token acts in one team with a role no higher than its owner's.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from studio.apikit import ApiError, TokenAuth

api = NinjaAPI(
    title="Studio API",
    version="1",
    description=(
        "The team video studio's REST API. Authenticate with `Authorization: Bearer <token>` (create tokens on your "
        'account page). Errors always have the shape `{"error": {"code", "message", "field"}}`.'
    ),
    urls_namespace="api-v1",
    auth=TokenAuth(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _render(request: HttpRequest, error: ApiError) -> HttpResponse:
    response = api.create_response(request, error.body(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _render(request, exc)


def _field_of(loc: Any) -> str | None:
    parts = [str(part) for part in (loc or ()) if part not in ("body", "query", "path", "header", "form", "file")]
    return ".".join(parts) or None


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = [
        {"field": _field_of(item.get("loc")), "message": str(item.get("msg", "Invalid value."))} for item in exc.errors
    ]
    if any(item.get("type") == "json_invalid" for item in exc.errors):
        return _render(request, ApiError(400, "malformed_request", "The request body is not valid JSON."))
    first = details[0] if details else {"field": None, "message": "Invalid request."}
    return _render(
        request,
        ApiError(422, "validation_error", str(first["message"]), field=first["field"], details=details),
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _render(
        request,
        ApiError(
            401,
            "unauthenticated",
            "Send a valid API token as 'Authorization: Bearer <token>' (it may have been revoked or have expired).",
        ),
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _render(request, ApiError(404, "not_found", "Not found."))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _render(request, ApiError(403, "forbidden", str(exc) or "Your role may not do this."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {400: "malformed_request", 413: "too_large"}.get(exc.status_code, "error")
    return _render(request, ApiError(exc.status_code, code, str(exc)))


def _mount() -> None:
    from billing.api import router as wallet_router
    from generations.api import quotes_router
    from generations.api import router as generations_router
    from studio.assets.api import router as assets_router
    from studio.projects.api import router as projects_router

    api.add_router("/projects", projects_router, tags=["projects"])
    api.add_router("/assets", assets_router, tags=["assets"])
    api.add_router("/quotes", quotes_router, tags=["quotes"])
    api.add_router("/generations", generations_router, tags=["generations"])
    api.add_router("/wallet", wallet_router, tags=["wallet"])


_mount()
