"""HighwayAPI adapter: TASK_STATUS_* map, short-lived output URLs, error names."""

from __future__ import annotations

import json

import httpx
import pytest

from generations.providers.base import Mode, ProviderState
from generations.providers.errors import (
    MalformedResponseError,
    PermanentError,
    RateLimitedError,
    TransientError,
    UnknownStatusError,
    UnsupportedFeatureError,
)
from tests.providers.conftest import MockProvider, image_input, job_spec, make_adapter
from tests.providers.payloads import highway_result


def test_r2v_body(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json={"task_id": "task-1"}))
    spec = job_spec(Mode.REFERENCE_TO_VIDEO, image=image_input(url="https://cdn/cat.png"), generate_audio_switch=True)
    result = make_adapter("highway").submit(spec)
    (request,) = mock_transport.requests
    assert request.url.path == "/base/async/pixverse-pixverse-c1-reference-to-video"
    body = json.loads(request.content)
    assert body["images"][0] == {"type": "subject", "ref_name": "cat", "image_url": "https://cdn/cat.png"}
    assert {k: body[k] for k in ("prompt", "duration", "resolution", "aspect_ratio", "generate_audio_switch")} == {
        "prompt": "@cat plays in @park at dusk",
        "duration": 5,
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "generate_audio_switch": True,
    }
    assert (result.provider_job_id, result.state) == ("task-1", ProviderState.QUEUED)


def test_t2v_path(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json={"task_id": "task-2"}))
    make_adapter("highway").submit(job_spec(Mode.TEXT_TO_VIDEO, aspect_ratio=None))
    request = mock_transport.requests[0]
    assert request.url.path == "/base/async/pixverse-c1-text-to-video"
    assert json.loads(request.content)["aspect_ratio"] == "16:9"
    assert "images" not in json.loads(request.content)


@pytest.mark.parametrize(
    "status,state",
    [("TASK_STATUS_QUEUED", ProviderState.QUEUED), ("TASK_STATUS_PROCESSING", ProviderState.RUNNING)],
)
def test_running_statuses(status: str, state: ProviderState, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=highway_result(status)))
    result = make_adapter("highway").poll("task-1")
    request = mock_transport.requests[0]
    assert (request.url.path, request.url.params["task_id"]) == ("/base/async/task-result", "task-1")
    assert result.state == state


def test_succeeded_with_url_ttl(mock_transport: MockProvider) -> None:
    video = {"video_url": "https://signed/v.mp4?sig=1", "video_url_ttl": "3600", "video_type": "mp4"}
    mock_transport.reply(httpx.Response(200, json=highway_result("TASK_STATUS_SUCCEED", videos=[video])))
    result = make_adapter("highway").poll("task-1")
    assert (result.state, result.output_url, result.output_url_ttl) == (
        ProviderState.SUCCEEDED,
        "https://signed/v.mp4?sig=1",
        3600.0,
    )


@pytest.mark.parametrize(
    "reason,state",
    [
        ("content moderation failed", ProviderState.MODERATED),
        ("NSFW content detected", ProviderState.MODERATED),
        ("worker crashed", ProviderState.FAILED),
        ("", ProviderState.FAILED),
    ],
)
def test_failed(reason: str, state: ProviderState, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=highway_result("TASK_STATUS_FAILED", reason=reason)))
    result = make_adapter("highway").poll("task-1")
    assert (result.state, result.error_message) == (state, reason)


def test_unknown_status_raises(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=highway_result("TASK_STATUS_PAUSED")))
    with pytest.raises(UnknownStatusError):
        make_adapter("highway").poll("task-1")


@pytest.mark.parametrize(
    "body", [highway_result("TASK_STATUS_SUCCEED"), {"task": {}}, {"videos": []}, {"task": "done"}]
)
def test_malformed_answers_raise(body: object, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=body))
    with pytest.raises(MalformedResponseError):
        make_adapter("highway").poll("task-1")


@pytest.mark.parametrize(
    "status,name,error",
    [
        (403, "INVALID_API_KEY", PermanentError),
        (401, "FAILED_TO_AUTH", PermanentError),
        (403, "NOT_ENOUGH_BALANCE", PermanentError),
        (403, "ACCESS_DENY", PermanentError),
        (404, "MODEL_NOT_FOUND", PermanentError),
        (400, "INVALID_REQUEST_BODY", PermanentError),
        (429, "RATE_LIMIT_EXCEEDED", RateLimitedError),
        (429, "TOKEN_LIMIT_EXCEEDED", RateLimitedError),
        (503, "SERVICE_NOT_AVAILABLE", TransientError),
    ],
)
def test_error_table(status: int, name: str, error: type[Exception], mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(status, json={"code": status, "reason": name, "message": "m"}))
    with pytest.raises(error) as caught:
        make_adapter("highway").submit(job_spec(Mode.TEXT_TO_VIDEO))
    assert caught.value.code == name  # type: ignore[attr-defined]


def test_cancel_is_unsupported() -> None:
    with pytest.raises(UnsupportedFeatureError):
        make_adapter("highway").cancel("task-1")
