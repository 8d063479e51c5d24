"""DashScope adapter: async header, uppercase resolution, W*H sizes, usage.duration, UNKNOWN, cancel."""

from __future__ import annotations

import json

import httpx
import pytest

from generations.providers.base import Mode, ProviderState
from generations.providers.errors import (
    MalformedResponseError,
    ModerationError,
    PermanentError,
    RateLimitedError,
    TransientError,
    UnknownStatusError,
)
from tests.providers.conftest import MockProvider, image_input, job_spec, make_adapter
from tests.providers.payloads import dashscope_succeeded, dashscope_task

CREATED = {"output": {"task_status": "PENDING", "task_id": "0385dc79"}, "request_id": "4909100c"}


def test_i2v_body_and_headers(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=CREATED))
    spec = job_spec(Mode.IMAGE_TO_VIDEO, seed=7, resolution="1080p", image=image_input(url="https://cdn/x.png"))
    result = make_adapter("dashscope").submit(spec)
    (request,) = mock_transport.requests
    assert request.url.path == "/base/services/aigc/video-generation/video-synthesis"
    assert request.headers["X-DashScope-Async"] == "enable"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(request.content) == {
        "model": "pixverse/pixverse-c1-it2v",
        "input": {"prompt": "a cat walks in a park", "media": [{"type": "image_url", "url": "https://cdn/x.png"}]},
        "parameters": {"duration": 5, "audio": False, "watermark": False, "seed": 7, "resolution": "1080P"},
    }
    assert (result.provider_job_id, result.state, result.trace_id) == ("0385dc79", ProviderState.QUEUED, "4909100c")


@pytest.mark.parametrize("aspect_ratio,size", [("16:9", "1280*720"), ("9:16", "720*1280"), ("21:9", "1280*560")])
def test_r2v_sends_size_not_resolution(aspect_ratio: str, size: str, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=CREATED))
    make_adapter("dashscope").submit(job_spec(Mode.REFERENCE_TO_VIDEO, aspect_ratio=aspect_ratio))
    body = json.loads(mock_transport.requests[0].content)
    assert body["model"] == "pixverse/pixverse-c1-r2v"
    assert body["parameters"]["size"] == size and "resolution" not in body["parameters"]
    assert [item["ref_name"] for item in body["input"]["media"]] == ["cat", "park"]
    assert {item["type"] for item in body["input"]["media"]} == {"image_url"}


def test_image_without_url_is_refused() -> None:
    with pytest.raises(PermanentError):
        make_adapter("dashscope").upload_image(image_input(url=""))


@pytest.mark.parametrize(
    "task_status,state",
    [
        ("PENDING", ProviderState.QUEUED),
        ("SUSPENDED", ProviderState.QUEUED),
        ("RUNNING", ProviderState.RUNNING),
        ("CANCELED", ProviderState.CANCELED),
        ("UNKNOWN", ProviderState.EXPIRED),
    ],
)
def test_status_map(task_status: str, state: ProviderState, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=dashscope_task(task_status)))
    result = make_adapter("dashscope").poll("0385dc79")
    assert mock_transport.requests[0].url.path == "/base/tasks/0385dc79"
    assert (result.state, result.raw_status) == (state, task_status)


def test_succeeded_reads_url_and_billed_seconds(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=dashscope_succeeded(duration=4)))
    result = make_adapter("dashscope").poll("t")
    assert result.state == ProviderState.SUCCEEDED
    assert result.output_url == "https://media.pixverseai.cn/xxxx.mp4"
    assert (result.billed_seconds, result.width, result.height, result.has_audio) == (4.0, 992, 944, False)


@pytest.mark.parametrize(
    "code,state",
    [
        ("InvalidParameter", ProviderState.FAILED),
        ("DataInspectionFailed", ProviderState.MODERATED),
        ("InternalError", ProviderState.FAILED),
    ],
)
def test_failed_task(code: str, state: ProviderState, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=dashscope_task("FAILED", code=code, message="The size is not match")))
    result = make_adapter("dashscope").poll("t")
    assert (result.state, result.error_code, result.error_message) == (state, code, "The size is not match")


def test_unknown_status_raises(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=dashscope_task("DONE")))
    with pytest.raises(UnknownStatusError):
        make_adapter("dashscope").poll("t")


@pytest.mark.parametrize(
    "body", [dashscope_task("SUCCEEDED"), {"request_id": "r"}, {"output": {"task_id": "t"}}, {"output": "SUCCEEDED"}]
)
def test_malformed_answers_raise(body: object, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=body))
    with pytest.raises(MalformedResponseError):
        make_adapter("dashscope").poll("t")


@pytest.mark.parametrize(
    "status,code,error",
    [
        (400, "InvalidParameter", PermanentError),
        (400, "DataInspectionFailed", ModerationError),
        (400, "BadRequest.EmptyInput", PermanentError),
        (400, "BadRequest.EmptyParameters", PermanentError),
        (400, "BadRequest.EmptyModel", PermanentError),
        (400, "InvalidURL", PermanentError),
        (400, "Arrearage", PermanentError),
        (403, "Arrearage", PermanentError),
        (401, "InvalidApiKey", PermanentError),
        (403, "AccessDenied", PermanentError),
        (404, "ModelNotFound", PermanentError),
        (429, "Throttling", RateLimitedError),
        (429, "Throttling.RateQuota", RateLimitedError),
        (429, "Throttling.AllocationQuota", RateLimitedError),
        (500, "InternalError", TransientError),
        (503, "", TransientError),
    ],
)
def test_create_error_table(status: int, code: str, error: type[Exception], mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(status, json={"code": code, "message": "m", "request_id": "r"}))
    with pytest.raises(error) as caught:
        make_adapter("dashscope").submit(job_spec(Mode.IMAGE_TO_VIDEO))
    assert caught.value.code == (code or str(status))  # type: ignore[attr-defined]
    if error is PermanentError:
        assert not isinstance(caught.value, ModerationError)


def test_cancel_while_pending(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json={"request_id": "r"}))
    assert make_adapter("dashscope").cancel("t") is True
    assert mock_transport.requests[0].url.path == "/base/tasks/t/cancel"
    assert mock_transport.requests[0].method == "POST"


def test_cancel_too_late(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(400, json={"code": "UnsupportedOperation", "message": "not pending"}))
    assert make_adapter("dashscope").cancel("t") is False


def test_cancel_with_bad_key_raises(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(401, json={"code": "InvalidApiKey", "message": "no"}))
    with pytest.raises(PermanentError):
        make_adapter("dashscope").cancel("t")
