"""Fixtures for the REST API tests: a client per role of the shared ``world`` (each with its own team-scoped token),
the pipeline's in-process emulator and inline worker (tests/generations/conftest.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from studio.accounts.services import api_token_create
from tests.assets.images import media_root  # noqa: F401  (re-exported fixture)
from tests.conftest import World
from tests.generations.conftest import pipeline  # noqa: F401  (re-exported fixture)


@dataclass
class Api:
    """A test client that sends ``Authorization: Bearer <raw>`` (and JSON bodies)."""

    raw: str
    client: Client

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {
            "HTTP_AUTHORIZATION": f"Bearer {self.raw}",
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()},
        }

    def get(self, path: str, data: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(f"/api/v1{path}", data or {}, **self._headers(headers))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(
            f"/api/v1{path}", json.dumps(body or {}), content_type="application/json", **self._headers(headers)
        )

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", **self._headers(None)
        )

    def upload(self, path: str, files: dict[str, Any], data: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1{path}", {**(data or {}), **files}, **self._headers(None))


def api_for(user: Any, team: Any, role: str = "") -> Api:
    _, raw = api_token_create(user=user, team=team, role=role, name="test")
    return Api(raw=raw, client=Client())


@dataclass
class Apis:
    owner: Api
    admin: Api
    member: Api
    viewer: Api
    outsider: Api


@pytest.fixture
def apis(world: World) -> Apis:
    return Apis(
        owner=api_for(world.owner, world.team),
        admin=api_for(world.admin, world.team),
        member=api_for(world.member, world.team),
        viewer=api_for(world.viewer, world.team),
        outsider=api_for(world.outsider, world.outsider_team),
    )


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response has ``status`` and the one error shape (and ``code`` when given)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "field"} <= set(error), error
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    return dict(error)
