"""PixVerse adapter: envelope errors inside HTTP 200, trace ids, img_id uploads, the status map."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from generations.providers.base import ImageInput, Mode, ProviderState, Reference
from generations.providers.errors import (
    AmbiguousSubmitError,
    ConcurrencyFullError,
    MalformedResponseError,
    ModerationError,
    PermanentError,
    TransientError,
    UnknownStatusError,
    UnsupportedFeatureError,
)
from tests.providers.conftest import MockProvider, image_input, job_spec, make_adapter
from tests.providers.payloads import pixverse, pixverse_status

BIG_ID = 384792384723984723  # > 2**53: loses precision as a float


def test_t2v_body_headers_and_trace_id(mock_transport: MockProvider) -> None:
    mock_transport.reply(pixverse({"video_id": BIG_ID, "credits": 50}))
    spec = job_spec(Mode.TEXT_TO_VIDEO, seed=42, negative_prompt="blur", generate_audio_switch=True)
    result = make_adapter("pixverse").submit(spec)
    (request,) = mock_transport.requests
    assert request.url.path == "/base/video/text/generate"
    assert request.headers["API-KEY"] == "sk-test"
    assert result.trace_id == request.headers["Ai-trace-id"]
    uuid.UUID(result.trace_id)
    assert result.provider_job_id == str(BIG_ID)
    assert result.state == ProviderState.QUEUED
    assert json.loads(request.content) == {
        "model": "c1",
        "prompt": "a cat walks in a park",
        "duration": 5,
        "quality": "720p",
        "generate_audio_switch": True,
        "aspect_ratio": "16:9",
        "negative_prompt": "blur",
        "seed": 42,
    }


def test_i2v_uploads_the_image_then_sends_its_img_id(mock_transport: MockProvider) -> None:
    mock_transport.reply(pixverse({"img_id": 777, "img_url": "https://x/y.png"}), pixverse({"video_id": 5}))
    make_adapter("pixverse").submit(job_spec(Mode.IMAGE_TO_VIDEO))
    upload, create = mock_transport.requests
    assert upload.url.path == "/base/image/upload"
    assert b'name="image"' in upload.content and b"\x89PNG" in upload.content
    assert "Idempotency-Key" not in upload.headers
    assert upload.headers["Ai-trace-id"] != create.headers["Ai-trace-id"]
    body = json.loads(create.content)
    assert body["img_id"] == 777
    assert "aspect_ratio" not in body and "motion_mode" not in body and "camera_movement" not in body


def test_url_only_image_is_uploaded_by_url(mock_transport: MockProvider) -> None:
    mock_transport.reply(pixverse({"img_id": 9, "img_url": "https://x/y.png"}))
    handle = make_adapter("pixverse").upload_image(ImageInput(sha256="s", url="https://cdn.example.com/a.png"))
    assert handle == "9"
    assert mock_transport.requests[0].content == b"image_url=https%3A%2F%2Fcdn.example.com%2Fa.png"


def test_cached_img_id_skips_the_upload(mock_transport: MockProvider) -> None:
    mock_transport.reply(pixverse({"video_id": 5}))
    references = (
        Reference(ref_name="cat", type="subject", image=image_input(provider_ref="10")),
        Reference(ref_name="park", type="background", image=image_input(provider_ref="11")),
    )
    spec = job_spec(Mode.REFERENCE_TO_VIDEO, references=references)
    make_adapter("pixverse").submit(spec)
    (create,) = mock_transport.requests
    assert json.loads(create.content)["image_references"] == [
        {"type": "subject", "img_id": 10, "ref_name": "cat"},
        {"type": "background", "img_id": 11, "ref_name": "park"},
    ]


@pytest.mark.parametrize(
    "err_code,err_msg,error",
    [
        (400013, "Invalid binding request", PermanentError),
        (400017, "Invalid parameter", PermanentError),
        (400001, "task not found", PermanentError),
        (500044, "Reached the limit for concurrent generations", ConcurrencyFullError),
        (400018, "Content moderation failed: sensitive content", ModerationError),
        (500001, "internal error", TransientError),
    ],
)
def test_errors_inside_http_200(
    err_code: int, err_msg: str, error: type[Exception], mock_transport: MockProvider
) -> None:
    mock_transport.reply(pixverse(None, err_code=err_code, err_msg=err_msg))
    with pytest.raises(error) as caught:
        make_adapter("pixverse").submit(job_spec(Mode.TEXT_TO_VIDEO))
    assert not isinstance(caught.value, AmbiguousSubmitError)
    assert caught.value.code == str(err_code)  # type: ignore[attr-defined]


def test_envelope_on_http_400_is_read(mock_transport: MockProvider) -> None:
    mock_transport.reply(pixverse(None, err_code=400017, err_msg="Invalid parameter", status=400))
    with pytest.raises(PermanentError) as caught:
        make_adapter("pixverse").submit(job_spec(Mode.TEXT_TO_VIDEO))
    assert caught.value.code == "400017"


def test_concurrency_full_on_http_500_is_not_ambiguous(mock_transport: MockProvider) -> None:
    mock_transport.reply(pixverse(None, err_code=500044, err_msg="limit", status=500))
    with pytest.raises(ConcurrencyFullError):
        make_adapter("pixverse").submit(job_spec(Mode.TEXT_TO_VIDEO))


@pytest.mark.parametrize(
    "status,state",
    [
        (1, ProviderState.SUCCEEDED),
        (5, ProviderState.RUNNING),
        (6, ProviderState.EXPIRED),
        (7, ProviderState.MODERATED),
        (8, ProviderState.FAILED),
        (9, ProviderState.QUEUED),
        (10, ProviderState.RUNNING),
    ],
)
def test_status_map(status: int, state: ProviderState, mock_transport: MockProvider) -> None:
    url = "https://media.pixverse.ai/v.mp4" if status == 1 else ""
    mock_transport.reply(pixverse(pixverse_status(status, url=url)))
    result = make_adapter("pixverse").poll(str(BIG_ID))
    assert mock_transport.requests[0].url.path == f"/base/video/result/{BIG_ID}"
    assert result.state == state
    assert result.raw_status == str(status)
    assert result.output_url == url
    if status == 1:
        assert (result.width, result.height, result.has_audio) == (1280, 720, False)


@pytest.mark.parametrize("status", [2, 0, 42])
def test_unknown_status_raises(status: int, mock_transport: MockProvider) -> None:
    mock_transport.reply(pixverse(pixverse_status(status)))
    with pytest.raises(UnknownStatusError):
        make_adapter("pixverse").poll("1")


@pytest.mark.parametrize(
    "body",
    [
        {"ErrCode": 0, "ErrMsg": "ok", "Resp": {**pixverse_status(1), "url": ""}},  # success without url
        {"ErrCode": 0, "ErrMsg": "ok", "Resp": {"status": "1"}},  # status as text
        {"ErrCode": 0, "ErrMsg": "ok"},  # no Resp
        {"ErrMsg": "ok", "Resp": {}},  # no ErrCode
        [1, 2, 3],
    ],
)
def test_malformed_status_answers_raise(body: object, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=body))
    with pytest.raises(MalformedResponseError):
        make_adapter("pixverse").poll("1")


def test_poll_envelope_error_is_raised(mock_transport: MockProvider) -> None:
    mock_transport.reply(pixverse(None, err_code=400001, err_msg="task not found"))
    with pytest.raises(PermanentError):
        make_adapter("pixverse").poll("1")


def test_each_request_gets_a_fresh_trace_id(mock_transport: MockProvider) -> None:
    mock_transport.reply(*(pixverse(pixverse_status(5)) for _ in range(3)))
    adapter = make_adapter("pixverse")
    for _ in range(3):
        adapter.poll("1")
    assert len({r.headers["Ai-trace-id"] for r in mock_transport.requests}) == 3


def test_i2v_without_prompt_and_cancel_are_unsupported() -> None:
    adapter = make_adapter("pixverse")
    with pytest.raises(UnsupportedFeatureError) as caught:
        adapter.check_supported(job_spec(Mode.IMAGE_TO_VIDEO, prompt=""))
    assert caught.value.option == "prompt"
    with pytest.raises(UnsupportedFeatureError):
        adapter.cancel("1")


@pytest.mark.parametrize(
    "status,err_code,error",
    [
        (429, 429, "RateLimitedError"),
        (500, 500, "TransientError"),
        (503, 503, "TransientError"),
        (500, 500044, "ConcurrencyFullError"),
        (401, 10003, "PermanentError"),
    ],
)
def test_http_status_wins_for_429_and_5xx_envelopes(
    status: int, err_code: int, error: str, mock_transport: MockProvider
) -> None:
    mock_transport.reply(
        httpx.Response(status, json={"ErrCode": err_code, "ErrMsg": "x", "Resp": {}}, headers={"Retry-After": "3"})
    )
    with pytest.raises(Exception) as caught:
        make_adapter("pixverse").submit(job_spec(Mode.TEXT_TO_VIDEO))
    assert type(caught.value).__name__ == error
    assert caught.value.code == str(err_code)  # type: ignore[attr-defined]
