"""Inbound webhook verification (WaveSpeed and PixVerse, both as documented) against the emulator's own signers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from generations.providers.errors import WebhookVerificationError
from generations.providers.webhooks import (
    pixverse_headers,
    pixverse_payload_string,
    sign_pixverse,
    sign_wavespeed,
    verify_pixverse,
    verify_wavespeed,
    verify_webhook,
    wavespeed_headers,
    webhook_job_id,
)

SECRET = "whsec_c2VjcmV0LWZvci10ZXN0cw"
BODY = json.dumps({"id": "pred-1", "status": "completed", "outputs": ["https://cdn/v.mp4"]}).encode()
NOW = 1_700_000_000


def ws_headers(
    body: bytes = BODY, *, secret: str = SECRET, timestamp: int = NOW, webhook_id: str = ""
) -> dict[str, str]:
    return wavespeed_headers(
        body=body, secret=secret, webhook_id=webhook_id or f"msg_{uuid.uuid4().hex}", timestamp=timestamp
    )


def test_wavespeed_valid_is_accepted() -> None:
    payload = verify_wavespeed(body=BODY, headers=ws_headers(), secret=SECRET, now=NOW + 10)
    assert payload["id"] == "pred-1"


def test_wavespeed_signature_matches_the_documented_formula() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"c2VjcmV0LWZvci10ZXN0cw", b"msg_1.1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign_wavespeed(body=BODY, secret=SECRET, webhook_id="msg_1", timestamp=NOW) == f"v3,{expected}"
    # The prefix is optional: the key is the text after "whsec_", used as a plain string.
    assert sign_wavespeed(body=BODY, secret="c2VjcmV0LWZvci10ZXN0cw", webhook_id="msg_1", timestamp=NOW) == (
        f"v3,{expected}"
    )


def test_wavespeed_header_names_are_case_insensitive() -> None:
    headers = {key.upper(): value for key, value in ws_headers().items()}
    assert verify_wavespeed(body=BODY, headers=headers, secret=SECRET, now=NOW)["status"] == "completed"


def test_wavespeed_accepts_one_valid_signature_among_several() -> None:
    headers = ws_headers()
    headers["webhook-signature"] = "v3,deadbeef " + headers["webhook-signature"]
    verify_wavespeed(body=BODY, headers=headers, secret=SECRET, now=NOW)


@pytest.mark.parametrize(
    "case",
    [
        "tampered_body",
        "wrong_secret",
        "stale",
        "future",
        "missing_id",
        "missing_signature",
        "missing_timestamp",
        "bad_timestamp",
        "no_secret",
    ],
)
def test_wavespeed_refusals(case: str) -> None:
    headers = ws_headers()
    body, secret, now = BODY, SECRET, float(NOW)
    if case == "tampered_body":
        body = BODY.replace(b"completed", b"failed")
    elif case == "wrong_secret":
        secret = "whsec_other"
    elif case == "stale":
        now = NOW + 301
    elif case == "future":
        now = NOW - 301
    elif case == "missing_id":
        del headers["webhook-id"]
    elif case == "missing_signature":
        del headers["webhook-signature"]
    elif case == "missing_timestamp":
        del headers["webhook-timestamp"]
    elif case == "bad_timestamp":
        headers["webhook-timestamp"] = "yesterday"
    elif case == "no_secret":
        secret = ""
    with pytest.raises(WebhookVerificationError):
        verify_wavespeed(body=body, headers=headers, secret=secret, now=now)


def test_wavespeed_replayed_id_is_refused() -> None:
    headers = ws_headers()
    verify_wavespeed(body=BODY, headers=headers, secret=SECRET, now=NOW)
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify_wavespeed(body=BODY, headers=headers, secret=SECRET, now=NOW + 1)


def test_wavespeed_forged_request_does_not_burn_the_real_id() -> None:
    headers = ws_headers()
    forged = {**headers, "webhook-signature": "v3,00"}
    with pytest.raises(WebhookVerificationError):
        verify_wavespeed(body=BODY, headers=forged, secret=SECRET, now=NOW)
    verify_wavespeed(body=BODY, headers=headers, secret=SECRET, now=NOW)


def test_wavespeed_non_json_body_is_refused() -> None:
    body = b"not json"
    with pytest.raises(WebhookVerificationError, match="JSON"):
        verify_wavespeed(body=body, headers=ws_headers(body), secret=SECRET, now=NOW)


# --- PixVerse (documented scheme, providers.md §10) -----------------------------------------------------------------

PX_SECRET = "pixverse-secret"
PX_FIELDS = {"id": 384792384723984723, "status": 1, "url": "https://x/v.mp4", "prompt": "été & 100%", "has_audio": True}
PX_BODY = json.dumps(PX_FIELDS, ensure_ascii=False).encode()


def px_headers(body: bytes = PX_BODY, *, timestamp: str = str(NOW), nonce: str = "") -> dict[str, str]:
    return pixverse_headers(body=body, secret=PX_SECRET, timestamp=timestamp, nonce=nonce or uuid.uuid4().hex)


def test_pixverse_payload_string_is_url_encoded_pairs_with_lowercase_booleans() -> None:
    assert pixverse_payload_string(PX_FIELDS) == (
        "has_audio=true&id=384792384723984723&prompt=%C3%A9t%C3%A9+%26+100%25&status=1&url=https%3A%2F%2Fx%2Fv.mp4"
    )


def test_pixverse_signature_matches_the_documented_formula() -> None:
    """Webhook-Signature = Base64(HMAC-SHA256(secret, "{timestamp}\\n{nonce}\\n{payload}")), computed by hand."""
    nonce = "a" * 32
    signed = f"{NOW}\n{nonce}\n{pixverse_payload_string(PX_FIELDS)}".encode()
    expected = base64.b64encode(hmac.new(PX_SECRET.encode(), signed, hashlib.sha256).digest()).decode()
    assert sign_pixverse(body=PX_BODY, secret=PX_SECRET, timestamp=str(NOW), nonce=nonce) == expected
    headers = px_headers(nonce=nonce)
    assert headers["Webhook-Signature"] == expected
    assert verify_pixverse(body=PX_BODY, headers=headers, secret=PX_SECRET, now=NOW, verify=True)["status"] == 1


def test_pixverse_signed_the_old_way_fails() -> None:
    """The first build signed ``encodeURIComponent(raw body)`` with lowercase headers: that must not verify now."""
    nonce = uuid.uuid4().hex
    encoded_body = quote(PX_BODY, safe="-_.!~*'()")
    old_message = f"{NOW}\n{nonce}\n{encoded_body}".encode()
    old_signature = base64.b64encode(hmac.new(PX_SECRET.encode(), old_message, hashlib.sha256).digest()).decode()
    headers = {"webhook-timestamp": str(NOW), "webhook-nonce": nonce, "webhook-signature": old_signature}
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify_pixverse(body=PX_BODY, headers=headers, secret=PX_SECRET, now=NOW, verify=True)


@pytest.mark.parametrize(
    "case",
    [
        "tampered_body",
        "wrong_secret",
        "stale",
        "missing_nonce",
        "missing_signature",
        "ms_timestamp",
        "no_secret",
        "not_json",
    ],
)
def test_pixverse_refusals(case: str) -> None:
    headers = px_headers()
    body, secret, now = PX_BODY, PX_SECRET, float(NOW)
    if case == "tampered_body":
        body = PX_BODY.replace(b'"status": 1', b'"status": 8')
    elif case == "wrong_secret":
        secret = "other"
    elif case == "stale":
        now = NOW + 301
    elif case == "missing_nonce":
        del headers["Webhook-Nonce"]
    elif case == "missing_signature":
        del headers["Webhook-Signature"]
    elif case == "ms_timestamp":
        headers["Webhook-Timestamp"] = str(NOW * 1000)  # documented as seconds
    elif case == "no_secret":
        secret = ""
    elif case == "not_json":
        body = b"status=1"
    with pytest.raises(WebhookVerificationError):
        verify_pixverse(body=body, headers=headers, secret=secret, now=now, verify=True)


def test_pixverse_replayed_nonce_is_refused() -> None:
    headers = px_headers()
    verify_pixverse(body=PX_BODY, headers=headers, secret=PX_SECRET, now=NOW, verify=True)
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify_pixverse(body=PX_BODY, headers=headers, secret=PX_SECRET, now=NOW, verify=True)


def test_pixverse_verification_can_be_switched_off(settings: Any) -> None:
    settings.PIXVERSE_WEBHOOK_VERIFY = False
    assert verify_pixverse(body=PX_BODY, headers={}, secret="")["url"] == "https://x/v.mp4"
    settings.PIXVERSE_WEBHOOK_VERIFY = True
    with pytest.raises(WebhookVerificationError):
        verify_pixverse(body=PX_BODY, headers={}, secret=PX_SECRET)


def test_emulator_signatures_verify_here() -> None:
    """The emulator's signers are written separately from the docs; our verifiers must accept what they sign."""
    from generations.emulators import webhooks as emulator_webhooks

    ws = emulator_webhooks.sign_wavespeed(SECRET, "msg_x", str(NOW), BODY)
    assert ws == sign_wavespeed(body=BODY, secret=SECRET, webhook_id="msg_x", timestamp=NOW)
    px = emulator_webhooks.sign_pixverse(PX_SECRET, str(NOW), "n1", PX_FIELDS)
    assert px == sign_pixverse(body=PX_BODY, secret=PX_SECRET, timestamp=str(NOW), nonce="n1")


# --- dispatch ----------------------------------------------------------------------------------------------------


def test_verify_webhook_uses_the_configured_secret(settings: Any) -> None:
    settings.PROVIDERS = {
        **settings.PROVIDERS,
        "wavespeed": {**settings.PROVIDERS["wavespeed"], "WEBHOOK_SECRET": SECRET},
    }
    now = int(time.time())
    payload = verify_webhook(provider="wavespeed", body=BODY, headers=ws_headers(timestamp=now))
    assert webhook_job_id(provider="wavespeed", payload=payload) == "pred-1"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(provider="dashscope", body=BODY, headers={})


@pytest.mark.parametrize(
    "provider,payload,job_id",
    [
        ("wavespeed", {"id": "p1"}, "p1"),
        ("wavespeed", {"data": {"id": "p2"}}, "p2"),
        ("pixverse", {"id": 384792384723984723}, "384792384723984723"),
        ("pixverse", {"Resp": {"video_id": 5}}, "5"),
    ],
)
def test_webhook_job_id(provider: str, payload: dict[str, Any], job_id: str) -> None:
    assert webhook_job_id(provider=provider, payload=payload) == job_id


def test_webhook_job_id_missing() -> None:
    with pytest.raises(WebhookVerificationError):
        webhook_job_id(provider="wavespeed", payload={"status": "completed"})
