"""Inbound provider webhook verification, and the matching signers (the emulator signs with these).

The emulator writes its own signers from the providers' documents (``generations.emulators.webhooks``), so a test
of emulator-signed deliveries against these verifiers checks two readings of the docs against each other.

- WaveSpeed [D]: headers ``webhook-id``, ``webhook-timestamp`` (unix s), ``webhook-signature: v3,<hex>``;
  HMAC-SHA256 hex over ``"{id}.{timestamp}.{raw body}"`` keyed with the secret minus its ``whsec_`` prefix, used as a
  plain string. 300 s window; each id accepted once.
- PixVerse [D, providers.md §10]: headers ``Webhook-Timestamp`` (unix s), ``Webhook-Nonce`` (32 chars),
  ``Webhook-Signature`` = Base64(HMAC-SHA256(secret, ``{timestamp}\\n{nonce}\\n{payload}``)) where payload is the
  JSON body's fields as URL-encoded ``k=v`` pairs joined by ``&`` (``pixverse_payload_string``), and ``Ai-Trace-Id``.
  300 s skew; each nonce accepted once. The receiver answers HTTP 200 with the body ``ok`` (else PixVerse resends).
  ``settings.PIXVERSE_WEBHOOK_VERIFY = False`` skips the check (logged); polling remains the source of truth.

Invariants: signatures are compared in constant time; the replay marker (Django cache ``add``) is written only
after the signature verified, so forged requests cannot burn real ids; every refusal is ``WebhookVerificationError``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache

from generations.providers.errors import ReplayGuardUnavailable, WebhookVerificationError

logger = logging.getLogger("generations.providers.webhooks")

TOLERANCE_SECONDS = 300


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookVerificationError("body is not JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookVerificationError("body is not a JSON object")
    return payload


def _check_fresh(timestamp: float, *, now: float | None, tolerance: int) -> None:
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(f"timestamp outside the {tolerance} s window")


def _claim_once(kind: str, token: str, *, tolerance: int) -> None:
    # Keep the marker past the window on both sides: a replay outside it fails the timestamp check anyway.
    key = "webhook-replay:" + hashlib.sha256(f"{kind}:{token}".encode()).hexdigest()
    try:
        fresh = cache.add(key, 1, timeout=2 * tolerance + 60)
    except Exception as exc:  # the backend's own errors (a Redis restart: redis.exceptions.ConnectionError)
        raise ReplayGuardUnavailable(f"{exc.__class__.__name__}: {exc}") from exc
    if not fresh:
        raise WebhookVerificationError(f"{kind} {token!r} was already used (replay)")


# ---------------------------------------------------------------------------------------------------------------------
# WaveSpeed


def _wavespeed_key(secret: str) -> bytes:
    return secret.removeprefix("whsec_").encode()


def sign_wavespeed(*, body: bytes, secret: str, webhook_id: str, timestamp: int) -> str:
    """The ``webhook-signature`` header value (``v3,<hex>``) for ``body``."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    return "v3," + hmac.new(_wavespeed_key(secret), message, hashlib.sha256).hexdigest()


def wavespeed_headers(*, body: bytes, secret: str, webhook_id: str, timestamp: int) -> dict[str, str]:
    """All three headers a WaveSpeed webhook carries (for the emulator's sender)."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_wavespeed(body=body, secret=secret, webhook_id=webhook_id, timestamp=timestamp),
    }


def verify_wavespeed(
    *,
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> dict[str, Any]:
    """Return the parsed prediction payload, or raise ``WebhookVerificationError`` saying why."""
    if not secret:
        raise WebhookVerificationError("no WaveSpeed webhook secret configured")
    webhook_id = _header(headers, "webhook-id")
    raw_timestamp = _header(headers, "webhook-timestamp")
    signature_header = _header(headers, "webhook-signature")
    if not (webhook_id and raw_timestamp and signature_header):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    # Bounded before int(): 401 digits overflowed the float comparison, 5,000 hit int()'s digit limit (both a 500).
    if not raw_timestamp.isdigit() or len(raw_timestamp) > 12:
        raise WebhookVerificationError("webhook-timestamp is not a unix time")
    timestamp = int(raw_timestamp)
    _check_fresh(timestamp, now=now, tolerance=tolerance)
    expected = sign_wavespeed(body=body, secret=secret, webhook_id=webhook_id, timestamp=timestamp)
    # Standard-Webhooks style: several space-separated signatures may be sent during secret rotation.
    if not any(hmac.compare_digest(candidate, expected) for candidate in signature_header.split()):
        raise WebhookVerificationError("signature does not match")
    payload = _parse_json(body)
    _claim_once("wavespeed-id", webhook_id, tolerance=tolerance)
    return payload


# ---------------------------------------------------------------------------------------------------------------------
# PixVerse (documented: "Webhook integration", providers.md §10)


def pixverse_payload_string(payload: Mapping[str, Any]) -> str:
    """The ``{payload}`` part of PixVerse's signed string: the JSON body's fields as URL-encoded ``k=v`` pairs joined
    by ``&``, booleans lowercase.

    [I] where the page is silent: keys are sorted and each key and value is form-encoded (``urlencode``: space as
    ``+``), which is what a Go ``url.Values.Encode`` — the usual way to write "k=v pairs, URL-encoded" — produces;
    ``null`` is the empty string; a nested object or list is its compact JSON.
    """

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        return str(value)

    return urlencode([(str(key), text(payload[key])) for key in sorted(payload)])


def sign_pixverse(*, body: bytes, secret: str, timestamp: str, nonce: str) -> str:
    """The Base64 ``Webhook-Signature``: HMAC-SHA256(secret, ``{timestamp}\n{nonce}\n{payload}``)."""
    payload = _parse_json(body)
    message = f"{timestamp}\n{nonce}\n{pixverse_payload_string(payload)}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def pixverse_headers(*, body: bytes, secret: str, timestamp: str, nonce: str, trace_id: str = "") -> dict[str, str]:
    """The headers a PixVerse delivery carries (tests; the emulator writes its own from the docs)."""
    return {
        "Webhook-Timestamp": timestamp,
        "Webhook-Nonce": nonce,
        "Webhook-Signature": sign_pixverse(body=body, secret=secret, timestamp=timestamp, nonce=nonce),
        "Ai-Trace-Id": trace_id,
    }


def verify_pixverse(
    *,
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
    verify: bool | None = None,
) -> dict[str, Any]:
    """Return the parsed payload, or raise ``WebhookVerificationError``. ``verify=None`` reads the setting.

    ``Webhook-Timestamp`` is unix seconds (documented); more than ``tolerance`` seconds off is refused, and each
    ``Webhook-Nonce`` is accepted once.
    """
    if verify is None:
        verify = bool(getattr(settings, "PIXVERSE_WEBHOOK_VERIFY", True))
    if not verify:
        logger.warning("PixVerse webhook accepted without verification (PIXVERSE_WEBHOOK_VERIFY is off)")
        return _parse_json(body)
    if not secret:
        raise WebhookVerificationError("no PixVerse webhook secret configured")
    timestamp = _header(headers, "webhook-timestamp")
    nonce = _header(headers, "webhook-nonce")
    signature = _header(headers, "webhook-signature")
    if not (timestamp and nonce and signature):
        raise WebhookVerificationError("missing Webhook-Timestamp, Webhook-Nonce or Webhook-Signature header")
    if not timestamp.isdigit() or len(timestamp) > 10:
        raise WebhookVerificationError("Webhook-Timestamp is not a unix time in seconds")
    if len(nonce) > 64:
        raise WebhookVerificationError("Webhook-Nonce is too long")
    _check_fresh(int(timestamp), now=now, tolerance=tolerance)
    payload = _parse_json(body)
    expected = sign_pixverse(body=body, secret=secret, timestamp=timestamp, nonce=nonce)
    if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
        raise WebhookVerificationError("signature does not match")
    _claim_once("pixverse-nonce", nonce, tolerance=tolerance)
    return payload


# ---------------------------------------------------------------------------------------------------------------------
# Dispatch


def verify_webhook(*, provider: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """Verify an inbound webhook with ``provider``'s adapter and its configured ``WEBHOOK_SECRET``; return it."""
    from generations.providers.registry import adapter_class, provider_config

    secret = provider_config(provider).webhook_secret
    return adapter_class(provider).verify_webhook(body=body, headers=headers, secret=secret)


def webhook_job_id(*, provider: str, payload: Mapping[str, Any]) -> str:
    """The provider job id a verified payload is about (it only prompts a poll: polling is the source of truth)."""
    raw_data, raw_resp = payload.get("data"), payload.get("Resp")
    data: Mapping[str, Any] = raw_data if isinstance(raw_data, Mapping) else payload
    resp: Mapping[str, Any] = raw_resp if isinstance(raw_resp, Mapping) else data
    if provider == "wavespeed":
        value = data.get("id")
    elif provider == "pixverse":
        value = resp.get("id", resp.get("video_id"))
    else:
        raise WebhookVerificationError(f"{provider} does not send webhooks")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise WebhookVerificationError(f"{provider} webhook payload has no job id")
    return str(value)
