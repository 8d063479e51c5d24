"""The HTTP seam: timeouts, Retry-After, exchange records, transports, downloads."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from generations.providers import http as provider_http
from generations.providers.errors import PermanentError, TransientError
from generations.providers.http import (
    DownloadTooLargeError,
    Exchange,
    ProviderHttp,
    configured_timeout,
    download,
    join_url,
    parse_retry_after,
    record_exchanges,
)
from generations.providers.ssrf import UnsafeURLError
from tests.providers.conftest import MockProvider

NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)


def seam(**kwargs: Any) -> ProviderHttp:
    return ProviderHttp(
        provider="demo", base_url="https://provider.test/api/v3/", headers={"Authorization": "Bearer s3cret"}, **kwargs
    )


@pytest.mark.parametrize(
    "base,path,url",
    [
        ("https://a.test/v3", "/tasks/1", "https://a.test/v3/tasks/1"),
        ("https://a.test/v3/", "tasks", "https://a.test/v3/tasks"),
    ],
)
def test_join_url(base: str, path: str, url: str) -> None:
    assert join_url(base, path) == url


@pytest.mark.parametrize(
    "value,seconds",
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_timeout_defaults_and_setting(settings: Any) -> None:
    settings.PROVIDER_HTTP_TIMEOUT = 12
    timeout = configured_timeout()
    assert (timeout.connect, timeout.read) == (5.0, 12.0)
    settings.PROVIDER_HTTP_TIMEOUT = {"connect": 2, "read": 9}
    assert (configured_timeout().connect, configured_timeout().read) == (2.0, 9.0)
    del settings.PROVIDER_HTTP_TIMEOUT
    assert (configured_timeout().connect, configured_timeout().read) == (5.0, 30.0)


def test_exchanges_are_recorded_without_secrets(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json={"ok": True}), httpx.Response(503))
    seen: list[Exchange] = []
    with record_exchanges(seen.append):
        answer = seam().request(
            "POST", "/things", json={"a": 1}, params={"q": "x"}, is_create=True, idempotency_key="job-1"
        )
        with pytest.raises(TransientError):
            seam().request("GET", "/things/1")
    assert answer.data == {"ok": True}
    assert [(e.provider, e.method, e.path, e.status_code, e.error_class, e.is_create) for e in seen] == [
        ("demo", "POST", "/things", 200, "", True),
        ("demo", "GET", "/things/1", 503, "TransientError", False),
    ]
    assert all(e.latency_ms >= 0 for e in seen)
    assert "s3cret" not in repr(seen)
    assert mock_transport.requests[0].url == "https://provider.test/api/v3/things?q=x"
    assert mock_transport.requests[0].headers["Authorization"] == "Bearer s3cret"


def test_transport_failure_is_recorded_without_status(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.ReadTimeout("slow"))
    seen: list[Exchange] = []
    with record_exchanges(seen.append), pytest.raises(provider_http.AmbiguousSubmitError):
        seam().request("POST", "/create", is_create=True, idempotency_key="k")
    assert (seen[0].status_code, seen[0].error_class) == (None, "AmbiguousSubmitError")


def test_a_failing_callback_never_breaks_a_request(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(200, json={"id": "1"}))

    def broken(exchange: Exchange) -> None:
        raise RuntimeError("database down")

    with record_exchanges(broken):
        assert seam().request("POST", "/c", is_create=True, idempotency_key="k").data == {"id": "1"}


def test_create_without_idempotency_key_is_a_bug() -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        seam().request("POST", "/c", is_create=True)


def test_empty_base_url_is_a_configuration_error() -> None:
    with pytest.raises(PermanentError, match="BASE_URL"):
        ProviderHttp(provider="demo", base_url="")


def test_use_transport_restores_the_previous_one() -> None:
    outer = httpx.MockTransport(lambda r: httpx.Response(200))
    inner = httpx.MockTransport(lambda r: httpx.Response(200))
    before = provider_http.get_transport()
    with provider_http.use_transport(outer):
        with provider_http.use_transport(inner):
            assert provider_http.get_transport() is inner
        assert provider_http.get_transport() is outer
    assert provider_http.get_transport() is before


def test_non_json_error_body_is_still_classified(mock_transport: MockProvider) -> None:
    mock_transport.reply(httpx.Response(404, text="<html>not found</html>"))
    with pytest.raises(PermanentError) as caught:
        seam().request("GET", "/x")
    assert caught.value.http_status == 404


# --- download ----------------------------------------------------------------------------------------------------


@pytest.fixture
def allow_cdn(settings: Any) -> None:
    settings.SSRF_ALLOWED_HOSTS = ["cdn.test"]


def test_download_streams_the_file(mock_transport: MockProvider, allow_cdn: None) -> None:
    mock_transport.reply(httpx.Response(200, content=b"x" * 1000))
    out = io.BytesIO()
    assert download("https://cdn.test/v.mp4", out, max_bytes=1000) == 1000
    assert out.getvalue() == b"x" * 1000


def test_download_refuses_a_declared_size_over_the_cap(mock_transport: MockProvider, allow_cdn: None) -> None:
    mock_transport.reply(httpx.Response(200, content=b"x" * 1001))
    with pytest.raises(DownloadTooLargeError, match="1001 bytes"):
        download("https://cdn.test/v.mp4", io.BytesIO(), max_bytes=1000)


def test_download_stops_at_the_cap_without_content_length(mock_transport: MockProvider, allow_cdn: None) -> None:
    def chunks() -> Any:
        for _ in range(100):
            yield b"y" * 100

    mock_transport.reply(httpx.Response(200, content=chunks()))
    out = io.BytesIO()
    with pytest.raises(DownloadTooLargeError):
        download("https://cdn.test/v.mp4", out, max_bytes=550)
    assert len(out.getvalue()) <= 550


def test_download_refuses_private_addresses_before_any_request(mock_transport: MockProvider, settings: Any) -> None:
    settings.SSRF_ALLOWED_HOSTS = []
    with pytest.raises(UnsafeURLError):
        download("http://127.0.0.1:8000/admin", io.BytesIO(), max_bytes=10)
    with pytest.raises(UnsafeURLError):
        download("file:///etc/passwd", io.BytesIO(), max_bytes=10)
    assert mock_transport.requests == []


def test_download_rechecks_each_redirect(mock_transport: MockProvider, allow_cdn: None) -> None:
    # allow_cdn replaced the settings list, so 169.254.169.254 is not allowed whatever the environment says.
    mock_transport.reply(httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"}))
    with pytest.raises(UnsafeURLError):
        download("https://cdn.test/v.mp4", io.BytesIO(), max_bytes=10)
    assert len(mock_transport.requests) == 1


def test_download_follows_a_safe_redirect(mock_transport: MockProvider, allow_cdn: None) -> None:
    mock_transport.reply(httpx.Response(302, headers={"Location": "/real.mp4"}), httpx.Response(200, content=b"ok"))
    out = io.BytesIO()
    assert download("https://cdn.test/v.mp4", out, max_bytes=10) == 2
    assert mock_transport.requests[1].url == "https://cdn.test/real.mp4"


@pytest.mark.parametrize("status,error", [(403, PermanentError), (404, PermanentError), (500, TransientError)])
def test_download_http_errors(
    status: int, error: type[Exception], mock_transport: MockProvider, allow_cdn: None
) -> None:
    mock_transport.reply(httpx.Response(status))
    with pytest.raises(error):
        download("https://cdn.test/v.mp4", io.BytesIO(), max_bytes=10)


def test_download_transport_failure_is_transient(mock_transport: MockProvider, allow_cdn: None) -> None:
    mock_transport.reply(httpx.ReadError("reset"))
    with pytest.raises(TransientError):
        download("https://cdn.test/v.mp4", io.BytesIO(), max_bytes=10)
