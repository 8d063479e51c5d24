"""The single HTTP seam between the studio and the providers. Every provider request goes through here.

What the seam guarantees, so adapters only build payloads and parse answers:

- Transport failures are classified by *whether the request can have reached the provider*:
  connect errors/timeouts (never sent) → ``TransientError``; anything after sending (read/write timeout, reset,
  protocol error) → ``AmbiguousSubmitError`` on a create (``is_create=True``), else ``TransientError``.
- HTTP 429 → ``RateLimitedError`` with ``Retry-After`` (seconds or HTTP-date) parsed. 5xx and 408 → ``TransientError``
  (the provider answered "no"). Exception: a 504 on a create is ``AmbiguousSubmitError``, because a gateway timeout
  means the gateway did not hear the provider's answer — the create may have gone through behind it.
- Other non-2xx → ``PermanentError`` unless the adapter's ``map_error`` hook says otherwise.
- A 2xx body that is not JSON → ``MalformedResponseError``, or ``AmbiguousSubmitError`` on a create.
- A request given a ``RequestBudget`` (``generations.providers.budget``: DashScope's 20 status queries/s per account)
  claims from it first; past the budget it raises ``RateLimitedError`` with ``retry_after`` without sending.
- Create requests carry ``Idempotency-Key: <job uuid>``; a create without one is a programming error.
- Every exchange is logged (method, path, status, latency; never headers) and reported to the callbacks installed
  with ``record_exchanges`` as an ``Exchange`` — the pipeline stores those as attempt rows. No secrets in either.
- The transport is swappable (``set_transport``/``use_transport``) so tests run against the in-process emulator.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import httpx

from generations.providers import ssrf
from generations.providers.budget import RequestBudget
from generations.providers.errors import (
    AmbiguousSubmitError,
    MalformedResponseError,
    PermanentError,
    ProviderError,
    RateLimitedError,
    TransientError,
)

logger = logging.getLogger("generations.providers.http")

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
MAX_REDIRECTS = 5
_DOWNLOAD_CHUNK = 64 * 1024


# ---------------------------------------------------------------------------------------------------------------------
# Exchange records


@dataclass(frozen=True)
class Exchange:
    """One request/answer with a provider, as stored in an attempt row. Holds no header, body or key."""

    provider: str
    method: str
    path: str
    status_code: int | None
    latency_ms: int
    error_class: str = ""
    is_create: bool = False


ExchangeCallback = Callable[[Exchange], None]
_callbacks: contextvars.ContextVar[tuple[ExchangeCallback, ...]] = contextvars.ContextVar(
    "provider_exchange_callbacks", default=()
)


@contextlib.contextmanager
def record_exchanges(callback: ExchangeCallback) -> Iterator[None]:
    """Call ``callback(exchange)`` for every provider exchange made inside the block (nesting adds callbacks)."""
    token = _callbacks.set((*_callbacks.get(), callback))
    try:
        yield
    finally:
        _callbacks.reset(token)


def _report(exchange: Exchange) -> None:
    level = logging.WARNING if exchange.error_class else logging.INFO
    logger.log(
        level,
        "provider=%s %s %s status=%s latency_ms=%d error=%s",
        exchange.provider,
        exchange.method,
        exchange.path,
        exchange.status_code,
        exchange.latency_ms,
        exchange.error_class or "-",
    )
    for callback in _callbacks.get():
        try:
            callback(exchange)
        except Exception:
            # Recording is bookkeeping: it must never turn an accepted create into an error.
            logger.exception("exchange callback failed for %s %s", exchange.method, exchange.path)


# ---------------------------------------------------------------------------------------------------------------------
# Transport


class _TransportState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.transport: httpx.BaseTransport | None = None
        self.client: httpx.Client | None = None


_state = _TransportState()


def set_transport(transport: httpx.BaseTransport | None) -> None:
    """Route every provider request through ``transport`` (``None`` restores the default ``httpx.HTTPTransport``)."""
    with _state.lock:
        _state.transport = transport
        _state.client = None


def get_transport() -> httpx.BaseTransport | None:
    """The installed transport override, or ``None`` for the default."""
    return _state.transport


@contextlib.contextmanager
def use_transport(transport: httpx.BaseTransport) -> Iterator[httpx.BaseTransport]:
    """Install ``transport`` for the block, then restore whatever was installed before."""
    previous = _state.transport
    set_transport(transport)
    try:
        yield transport
    finally:
        set_transport(previous)


def _client() -> httpx.Client:
    with _state.lock:
        if _state.client is None:
            transport = _state.transport or httpx.HTTPTransport(retries=0)
            _state.client = httpx.Client(transport=transport, follow_redirects=False)
        return _state.client


def configured_timeout() -> httpx.Timeout:
    """Connect 5 s, read 30 s; ``settings.PROVIDER_HTTP_TIMEOUT`` overrides (a number = read timeout, or a dict)."""
    from django.conf import settings

    value: object = getattr(settings, "PROVIDER_HTTP_TIMEOUT", None) if settings.configured else None
    if isinstance(value, Mapping):
        read = float(value.get("read", DEFAULT_READ_TIMEOUT))
        return httpx.Timeout(
            connect=float(value.get("connect", DEFAULT_CONNECT_TIMEOUT)),
            read=read,
            write=float(value.get("write", read)),
            pool=float(value.get("pool", DEFAULT_CONNECT_TIMEOUT)),
        )
    read = float(value) if isinstance(value, int | float) else DEFAULT_READ_TIMEOUT
    return httpx.Timeout(connect=DEFAULT_CONNECT_TIMEOUT, read=read, write=read, pool=DEFAULT_CONNECT_TIMEOUT)


# ---------------------------------------------------------------------------------------------------------------------
# Answers and error mapping


@dataclass(frozen=True)
class HttpAnswer:
    """A provider answer. ``data`` is the parsed JSON body (``None`` when the body was empty or not JSON)."""

    status_code: int
    data: Any
    text: str
    headers: httpx.Headers

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


ErrorReader = Callable[[Any], tuple[str, str]]
ErrorMapper = Callable[[HttpAnswer, bool], ProviderError | None]


def read_code_message(data: Any) -> tuple[str, str]:
    """Default error reader: ``{"code": ..., "message": ...}`` (the shape most providers use)."""
    if isinstance(data, Mapping):
        code = data.get("code", "")
        message = data.get("message") or data.get("msg") or data.get("reason") or ""
        return ("" if code is None else str(code)), str(message)
    return "", ""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date. ``None`` when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(tz=UTC))).total_seconds())


def _parse_json(response: httpx.Response) -> Any:
    if not response.content.strip():
        return None
    return response.json()


def join_url(base_url: str, path: str) -> str:
    """``base_url`` + ``/path`` with exactly one slash between them (base URLs carry a path prefix)."""
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"


class ProviderHttp:
    """One provider's view of the seam: its base URL, its auth headers and its error-body shape."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        read_error: ErrorReader = read_code_message,
        map_error: ErrorMapper | None = None,
    ) -> None:
        if not base_url:
            raise PermanentError("no BASE_URL configured", provider=provider, code="config")
        self.provider = provider
        self.base_url = base_url
        self.headers = dict(headers or {})
        self.read_error = read_error
        self.map_error = map_error

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        is_create: bool = False,
        idempotency_key: str = "",
        budget: RequestBudget | None = None,
    ) -> HttpAnswer:
        """Send one request; return the 2xx answer with its JSON parsed, or raise per the module rules.

        With ``budget``, one unit of it is claimed first; past the budget ``RateLimitedError`` is raised and nothing
        is sent (so no exchange is recorded)."""
        if is_create and not idempotency_key:
            raise ValueError("a create request needs an idempotency key (the job UUID)")
        if budget is not None:
            budget.acquire()
        all_headers = {**self.headers, **(headers or {})}
        if idempotency_key:
            all_headers["Idempotency-Key"] = idempotency_key
        started = time.monotonic()
        status: int | None = None
        error: ProviderError | None = None
        try:
            try:
                response = _client().request(
                    method,
                    join_url(self.base_url, path),
                    json=json,
                    data=data,
                    files=files,
                    params=params,
                    headers=all_headers,
                    timeout=configured_timeout(),
                )
            except httpx.TransportError as exc:
                error = self._transport_error(exc, is_create=is_create)
                raise error from exc
            status = response.status_code
            answer = self._answer(response, is_create=is_create)
            return answer
        except ProviderError as exc:
            error = exc
            raise
        finally:
            _report(
                Exchange(
                    provider=self.provider,
                    method=method.upper(),
                    path=path,
                    status_code=status,
                    latency_ms=round((time.monotonic() - started) * 1000),
                    error_class=type(error).__name__ if error else "",
                    is_create=is_create,
                )
            )

    def _transport_error(self, exc: httpx.TransportError, *, is_create: bool) -> ProviderError:
        kind = type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.UnsupportedProtocol):
            return TransientError(f"could not connect ({kind})", provider=self.provider, code=kind)
        if is_create:
            return AmbiguousSubmitError(
                f"create sent but no answer read ({kind}); reconcile, do not resubmit",
                provider=self.provider,
                code=kind,
            )
        return TransientError(f"request failed after sending ({kind})", provider=self.provider, code=kind)

    def _answer(self, response: httpx.Response, *, is_create: bool) -> HttpAnswer:
        status = response.status_code
        try:
            data = _parse_json(response)
        except ValueError:
            if 200 <= status < 300:
                message = f"HTTP {status} with a body that is not JSON"
                if is_create:
                    raise AmbiguousSubmitError(
                        f"{message}; the create may have been accepted", provider=self.provider, http_status=status
                    ) from None
                raise MalformedResponseError(message, provider=self.provider, http_status=status) from None
            data = None
        answer = HttpAnswer(status_code=status, data=data, text=response.text[:2000], headers=response.headers)
        if 200 <= status < 300:
            return answer
        raise self._error(answer, is_create=is_create)

    def _error(self, answer: HttpAnswer, *, is_create: bool) -> ProviderError:
        if self.map_error is not None:
            mapped = self.map_error(answer, is_create)
            if mapped is not None:
                return mapped
        code, message = self.read_error(answer.data)
        status = answer.status_code
        message = message or answer.text[:200] or f"HTTP {status}"
        kwargs: dict[str, Any] = {"provider": self.provider, "code": code or str(status), "http_status": status}
        if status == 429:
            return RateLimitedError(message, retry_after=answer.retry_after, **kwargs)
        if status == 504 and is_create:
            return AmbiguousSubmitError(f"gateway timeout on create: {message}", **kwargs)
        if status >= 500 or status == 408:
            return TransientError(message, **kwargs)
        return PermanentError(message, **kwargs)


# ---------------------------------------------------------------------------------------------------------------------
# Reading answers: small helpers that raise MalformedResponseError instead of KeyError/TypeError.


def expect_mapping(value: Any, *, what: str, provider: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedResponseError(f"{what} is not an object", provider=provider)
    return value


def expect_str(container: Mapping[str, Any], key: str, *, what: str, provider: str) -> str:
    """A non-empty string (ints are accepted and turned into text: int64 ids stay exact as strings)."""
    value = container.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise MalformedResponseError(f"{what}.{key} is missing or not a string/integer", provider=provider)
    return str(value)


# ---------------------------------------------------------------------------------------------------------------------
# Output download


class DownloadTooLargeError(PermanentError):
    """The output file is bigger than the caller's cap. Nothing past the cap was kept."""


def download(url: str, fileobj: IO[bytes], *, max_bytes: int, provider: str = "") -> int:
    """Stream ``url`` into ``fileobj`` through the SSRF guard; return the number of bytes written.

    Invariants: every URL fetched (including each redirect hop) passed ``ssrf.check_url``; at most ``max_bytes`` are
    written; past the cap ``DownloadTooLargeError`` is raised (the caller discards ``fileobj``). 404/403/410 (an expired
    signed URL) raise ``PermanentError``; 5xx and transport failures raise ``TransientError``.
    """
    started = time.monotonic()
    status: int | None = None
    error: ProviderError | None = None
    path = httpx.URL(url).path
    try:
        for _ in range(MAX_REDIRECTS + 1):
            # Loopback is allowed only for an emulated provider's own emulator origin (issue 13, finding 6).
            addresses = ssrf.check_url(url, allowed_hosts=_download_allowed_hosts(url, provider))
            try:
                response = _client().send(_pinned_request(url, addresses), stream=True, follow_redirects=False)
                with contextlib.closing(response):
                    status = response.status_code
                    if response.is_redirect and "location" in response.headers:
                        url = str(httpx.URL(url).join(response.headers["location"]))  # the name, not the pinned IP
                        continue
                    if status >= 400:
                        cls = TransientError if status >= 500 or status in (408, 429) else PermanentError
                        raise cls(f"download failed with HTTP {status}", provider=provider, http_status=status)
                    return _copy_capped(response, fileobj, max_bytes=max_bytes, provider=provider)
            except httpx.TransportError as exc:
                raise TransientError(
                    f"download failed ({type(exc).__name__})", provider=provider, code=type(exc).__name__
                ) from exc
        raise PermanentError(f"more than {MAX_REDIRECTS} redirects", provider=provider)
    except ProviderError as exc:
        error = exc
        raise
    finally:
        _report(
            Exchange(
                provider=provider,
                method="GET",
                path=path,
                status_code=status,
                latency_ms=round((time.monotonic() - started) * 1000),
                error_class=type(error).__name__ if error else "",
            )
        )


def _download_allowed_hosts(url: str, provider: str) -> list[str]:
    from generations.providers.registry import download_allowed_hosts  # the registry imports the adapters, and they us

    return download_allowed_hosts(url, provider)


def _pinned_request(url: str, addresses: list[str]) -> httpx.Request:
    """A GET for ``url`` that connects to the first checked address instead of resolving the name again (closing
    the DNS-rebinding window, issue 13 finding 7). The Host header and the TLS server name (SNI, and with it the
    certificate check) stay the URL's own host. No addresses (an allowed host) means connect by name."""
    original = httpx.URL(url)
    timeout = configured_timeout()
    if not addresses:
        return _client().build_request("GET", original, timeout=timeout)
    host_header = original.host if original.port is None else f"{original.host}:{original.port}"
    if ":" in original.host:  # an IPv6 literal keeps its brackets in the Host header
        host_header = f"[{original.host}]" if original.port is None else f"[{original.host}]:{original.port}"
    return _client().build_request(
        "GET",
        original.copy_with(host=addresses[0]),
        headers={"Host": host_header},
        timeout=timeout,
        extensions={"sni_hostname": original.host},
    )


def _copy_capped(response: httpx.Response, fileobj: IO[bytes], *, max_bytes: int, provider: str) -> int:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise DownloadTooLargeError(
            f"output is {declared} bytes, over the {max_bytes}-byte cap", provider=provider, code="too_large"
        )
    written = 0
    for chunk in response.iter_bytes(_DOWNLOAD_CHUNK):
        written += len(chunk)
        if written > max_bytes:
            raise DownloadTooLargeError(f"output exceeds the {max_bytes}-byte cap", provider=provider, code="too_large")
        fileobj.write(chunk)
    return written
