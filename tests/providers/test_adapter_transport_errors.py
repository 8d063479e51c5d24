"""The seam's failure classes, seen through every adapter: the rules that decide "may we retry?"."""

from __future__ import annotations

import httpx
import pytest

from generations.providers.base import Mode
from generations.providers.errors import (
    AmbiguousSubmitError,
    MalformedResponseError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from generations.providers.registry import ADAPTERS
from tests.providers.conftest import MockProvider, image_input, job_spec, make_adapter

# A mode each provider supports, with images that need no upload (provider_ref set), so the create is the only call.
SUBMIT_MODE = {
    "wavespeed": Mode.TEXT_TO_VIDEO,
    "pixverse": Mode.TEXT_TO_VIDEO,
    "dashscope": Mode.IMAGE_TO_VIDEO,
    "highway": Mode.TEXT_TO_VIDEO,
}
POLL_ID = "job-1"


def _spec(name: str):  # type: ignore[no-untyped-def]
    return job_spec(SUBMIT_MODE[name], image=image_input(provider_ref="https://cdn.example.com/x.png"))


@pytest.fixture(params=sorted(ADAPTERS))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("slow"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("eof"),
        httpx.WriteError("broken pipe"),
        httpx.WriteTimeout("slow"),
    ],
)
def test_create_failing_after_send_is_ambiguous(name: str, failure: Exception, mock_transport: MockProvider) -> None:
    mock_transport.reply(failure)
    with pytest.raises(AmbiguousSubmitError):
        make_adapter(name).submit(_spec(name))


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow")])
def test_create_never_sent_is_transient(name: str, failure: Exception, mock_transport: MockProvider) -> None:
    mock_transport.reply(failure)
    with pytest.raises(TransientError):
        make_adapter(name).submit(_spec(name))


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
def test_poll_transport_failures_are_transient(name: str, failure: Exception, mock_transport: MockProvider) -> None:
    mock_transport.reply(failure)
    with pytest.raises(TransientError):
        make_adapter(name).poll(POLL_ID)


def test_create_answer_not_json_is_ambiguous(name: str, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, text='{"truncated": '))
    with pytest.raises(AmbiguousSubmitError):
        make_adapter(name).submit(_spec(name))


def test_create_answer_without_id_is_ambiguous(name: str, mock_transport: MockProvider) -> None:
    body = {"ErrCode": 0, "ErrMsg": "ok", "Resp": {}} if name == "pixverse" else {"code": 200, "data": {}, "output": {}}
    mock_transport.reply(httpx.Response(200, json=body))
    with pytest.raises(AmbiguousSubmitError):
        make_adapter(name).submit(_spec(name))


def test_poll_answer_not_json_is_malformed(name: str, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(MalformedResponseError):
        make_adapter(name).poll(POLL_ID)


@pytest.mark.parametrize("retry_after,expected", [("7", 7.0), ("0", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_429_is_rate_limited_with_retry_after(
    name: str, retry_after: str, expected: float, mock_transport: MockProvider
) -> None:
    mock_transport.reply(
        httpx.Response(429, json={"code": "Throttling", "message": "slow down"}, headers={"Retry-After": retry_after})
    )
    with pytest.raises(RateLimitedError) as caught:
        make_adapter(name).submit(_spec(name))
    assert caught.value.retry_after == expected
    assert caught.value.http_status == 429


@pytest.mark.parametrize("status", [500, 502, 503])
def test_create_5xx_is_transient_not_ambiguous(name: str, status: int, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(status, json={"code": "InternalError", "message": "boom"}))
    with pytest.raises(TransientError):
        make_adapter(name).submit(_spec(name))


def test_create_gateway_timeout_is_ambiguous(name: str, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(504, text="gateway timeout"))
    with pytest.raises(AmbiguousSubmitError):
        make_adapter(name).submit(_spec(name))


def test_poll_gateway_timeout_is_transient(name: str, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(504, text="gateway timeout"))
    with pytest.raises(TransientError):
        make_adapter(name).poll(POLL_ID)


def test_401_is_permanent(name: str, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(401, json={"code": "InvalidApiKey", "message": "bad key"}))
    with pytest.raises(PermanentError):
        make_adapter(name).submit(_spec(name))


def test_create_carries_the_job_uuid_as_idempotency_key(name: str, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(503))
    spec = _spec(name)
    with pytest.raises(TransientError):
        make_adapter(name).submit(spec)
    (request,) = mock_transport.requests
    assert request.headers["Idempotency-Key"] == str(spec.job_id)
    assert request.url.host == "provider.test"
    assert request.url.path.startswith("/base/")


def test_poll_carries_no_idempotency_key(name: str, mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(503))
    with pytest.raises(TransientError):
        make_adapter(name).poll(POLL_ID)
    assert "Idempotency-Key" not in mock_transport.requests[0].headers


def test_cancel_is_only_offered_where_the_provider_has_it(name: str) -> None:
    adapter = make_adapter(name)
    assert adapter.capabilities.cancel == (name == "dashscope")
