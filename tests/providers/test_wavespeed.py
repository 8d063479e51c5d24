"""WaveSpeed adapter: the data envelope, task error codes, NSFW flags, binary uploads, webhooks on submit."""

from __future__ import annotations

import json

import httpx
import pytest

from generations.providers.base import ImageInput, Mode, ProviderState, Reference
from generations.providers.errors import (
    MalformedResponseError,
    ModerationError,
    PermanentError,
    TransientError,
    UnknownStatusError,
    UnsupportedFeatureError,
)
from tests.providers.conftest import MockProvider, image_input, job_spec, make_adapter
from tests.providers.payloads import wavespeed, wavespeed_prediction


def test_t2v_submit_with_webhook(mock_transport: MockProvider) -> None:
    mock_transport.reply(wavespeed(wavespeed_prediction("created")))
    spec = job_spec(Mode.TEXT_TO_VIDEO, webhook_url="https://studio.example.com/generations/webhooks/wavespeed/")
    result = make_adapter("wavespeed").submit(spec)
    (request,) = mock_transport.requests
    assert request.url.path == "/base/pixverse/pixverse-c1/text-to-video"
    assert request.url.params["webhook"] == "https://studio.example.com/generations/webhooks/wavespeed/"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(request.content) == {
        "prompt": "a cat walks in a park",
        "resolution": "720p",
        "duration": 5,
        "generate_audio_switch": False,
        "aspect_ratio": "16:9",
    }
    assert (result.provider_job_id, result.state, result.raw_status) == ("pred-123", ProviderState.QUEUED, "created")


def test_no_webhook_param_without_url(mock_transport: MockProvider) -> None:
    mock_transport.reply(wavespeed(wavespeed_prediction("created")))
    make_adapter("wavespeed").submit(job_spec(Mode.TEXT_TO_VIDEO))
    assert "webhook" not in mock_transport.requests[0].url.params


def test_i2v_uploads_bytes_then_sends_the_download_url(mock_transport: MockProvider) -> None:
    upload_answer = {
        "type": "image",
        "download_url": "https://cdn.wavespeed.ai/u/1.png",
        "filename": "1.png",
        "size": 10,
    }
    mock_transport.reply(wavespeed(upload_answer), wavespeed(wavespeed_prediction("created")))
    make_adapter("wavespeed").submit(job_spec(Mode.IMAGE_TO_VIDEO))
    upload, create = mock_transport.requests
    assert upload.url.path == "/base/media/upload/binary"
    assert b'name="file"' in upload.content
    body = json.loads(create.content)
    assert body["image"] == "https://cdn.wavespeed.ai/u/1.png"
    assert "aspect_ratio" not in body and "seed" not in body


def test_r2v_uses_cached_handles_and_urls(mock_transport: MockProvider) -> None:
    mock_transport.reply(wavespeed(wavespeed_prediction("created")))
    references = (
        Reference(ref_name="cat", type="subject", image=image_input(provider_ref="https://cdn.wavespeed.ai/cat.png")),
        Reference(
            ref_name="park", type="background", image=ImageInput(sha256="p", url="https://cdn.example.com/p.png")
        ),
    )
    make_adapter("wavespeed").submit(job_spec(Mode.REFERENCE_TO_VIDEO, references=references))
    (create,) = mock_transport.requests
    assert json.loads(create.content)["images"] == [
        {"image_url": "https://cdn.wavespeed.ai/cat.png", "type": "subject", "ref_name": "cat"},
        {"image_url": "https://cdn.example.com/p.png", "type": "background", "ref_name": "park"},
    ]


@pytest.mark.parametrize("status,state", [("created", ProviderState.QUEUED), ("processing", ProviderState.RUNNING)])
def test_running_statuses(status: str, state: ProviderState, mock_transport: MockProvider) -> None:
    mock_transport.reply(wavespeed(wavespeed_prediction(status)))
    result = make_adapter("wavespeed").poll("pred-123")
    assert mock_transport.requests[0].url.path == "/base/predictions/pred-123/result"
    assert result.state == state


def test_completed(mock_transport: MockProvider) -> None:
    mock_transport.reply(
        wavespeed(wavespeed_prediction("completed", outputs=["https://cdn/v.mp4"], has_nsfw_contents=[False]))
    )
    result = make_adapter("wavespeed").poll("pred-123")
    assert (result.state, result.output_url, result.nsfw) == (ProviderState.SUCCEEDED, "https://cdn/v.mp4", False)


def test_completed_but_flagged_nsfw_is_delivered_with_the_flag(mock_transport: MockProvider) -> None:
    mock_transport.reply(
        wavespeed(wavespeed_prediction("completed", outputs=["https://cdn/v.mp4"], has_nsfw_contents=[True]))
    )
    result = make_adapter("wavespeed").poll("pred-123")
    assert (result.state, result.nsfw, result.output_url) == (ProviderState.SUCCEEDED, True, "https://cdn/v.mp4")


@pytest.mark.parametrize(
    "code,state,retryable",
    [
        (1200, ProviderState.MODERATED, False),
        (1400, ProviderState.FAILED, False),
        (1401, ProviderState.FAILED, False),
        (1402, ProviderState.FAILED, False),
        (1403, ProviderState.FAILED, False),
        (1405, ProviderState.FAILED, False),
        (5000, ProviderState.FAILED, True),
        (5003, ProviderState.FAILED, True),
        (5004, ProviderState.FAILED, True),
    ],
)
def test_failed_task_codes(code: int, state: ProviderState, retryable: bool, mock_transport: MockProvider) -> None:
    mock_transport.reply(wavespeed(wavespeed_prediction("failed", code=code, error="something")))
    result = make_adapter("wavespeed").poll("pred-123")
    assert (result.state, result.error_code) == (state, str(code))
    del retryable  # WaveSpeed says 5xxx codes are passing, but a resubmit is a new paid create: nothing reads it
    assert result.error_message == "something"


def test_unknown_status_raises(mock_transport: MockProvider) -> None:
    mock_transport.reply(wavespeed(wavespeed_prediction("queued-ish")))
    with pytest.raises(UnknownStatusError):
        make_adapter("wavespeed").poll("pred-123")


@pytest.mark.parametrize(
    "body",
    [
        {"code": 200, "message": "success", "data": wavespeed_prediction("completed")},  # no outputs
        {"code": 200, "message": "success", "data": {"id": "x"}},  # no status
        {"code": 200, "message": "success"},  # no data
        {"message": "success", "data": wavespeed_prediction("created")},  # no code
    ],
)
def test_malformed_answers_raise(body: object, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json=body))
    with pytest.raises(MalformedResponseError):
        make_adapter("wavespeed").poll("pred-123")


@pytest.mark.parametrize(
    "status,body,error",
    [
        (200, {"code": 500, "message": "internal"}, TransientError),
        (200, {"code": 400, "message": "bad"}, PermanentError),
        (400, {"code": 1401, "message": "invalid parameter"}, PermanentError),
        (400, {"code": 1402, "message": "media URL not accessible"}, PermanentError),
        (400, {"code": 1200, "message": "content moderation"}, ModerationError),
        (401, {"code": 401, "message": "bad key"}, PermanentError),
    ],
)
def test_submit_errors(status: int, body: object, error: type[Exception], mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(status, json=body))
    with pytest.raises(error):
        make_adapter("wavespeed").submit(job_spec(Mode.TEXT_TO_VIDEO))


@pytest.mark.parametrize(
    "overrides,option",
    [({"seed": 1}, "seed"), ({"negative_prompt": "x"}, "negative_prompt"), ({"prompt": " "}, "prompt")],
)
def test_unsupported_options(overrides: dict[str, object], option: str) -> None:
    with pytest.raises(UnsupportedFeatureError) as caught:
        make_adapter("wavespeed").check_supported(job_spec(Mode.TEXT_TO_VIDEO, **overrides))
    assert caught.value.option == option
