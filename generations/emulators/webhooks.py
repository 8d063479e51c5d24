"""Outgoing webhooks from the emulator, signed as the providers document it (written here from the docs, never
imported from the studio's verifiers, so that verifying an emulator delivery checks two independent readings).

WaveSpeed (providers.md §2): headers ``webhook-id``, ``webhook-timestamp`` (unix seconds) and
``webhook-signature: v3,<hex>``, where hex = HMAC-SHA256(secret without ``whsec_``, "{id}.{timestamp}.{body}").

PixVerse ("Webhook integration", providers.md §10): headers ``Webhook-Timestamp`` (seconds), ``Webhook-Nonce``
(32 chars), ``Webhook-Signature`` = Base64(HMAC-SHA256(secret, "{timestamp}\\n{nonce}\\n{payload}")) where payload is
the JSON body's fields as URL-encoded ``k=v`` pairs joined by ``&``, booleans lowercase (keys sorted [I]), and
``Ai-Trace-Id``. A delivery counts as received only when the answer is HTTP 200 with the body ``ok``.

Deliveries happen on one background thread, once (the documented resend schedule is not emulated; the log says
whether each delivery was acknowledged), and are recorded for ``GET /_control/webhooks``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import httpx

logger = logging.getLogger(__name__)


def sign_wavespeed(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The ``webhook-signature`` header value WaveSpeed sends: ``v3,<hex>``."""
    key = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    message = f"{webhook_id}.{timestamp}.".encode() + body
    return "v3," + hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def _pixverse_value(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return str(value)


def sign_pixverse(secret: str, timestamp: str, nonce: str, fields: dict[str, Any]) -> str:
    """The Base64 ``Webhook-Signature`` PixVerse sends for a delivery whose JSON body has ``fields``."""
    payload = "&".join(f"{quote_plus(str(key))}={quote_plus(_pixverse_value(fields[key]))}" for key in sorted(fields))
    message = f"{timestamp}\n{nonce}\n{payload}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


@dataclass
class Delivery:
    provider: str
    url: str
    headers: dict[str, str]
    body: bytes
    status_code: int | None = None
    reply: str = ""
    error: str = ""
    done: threading.Event = field(default_factory=threading.Event)

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "url": self.url,
            "headers": self.headers,
            "body": self.body.decode("utf-8"),
            "status_code": self.status_code,
            "reply": self.reply,
            "acknowledged": self.status_code == 200 and self.reply.strip() == "ok",
            "error": self.error,
            "delivered": self.done.is_set(),
        }


class WebhookDispatcher:
    """Sends deliveries one at a time on a daemon thread and keeps a log of them."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None, timeout: float = 5.0) -> None:
        self._transport = transport
        self._timeout = timeout
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._lock = threading.Lock()
        self.log: list[Delivery] = []
        self._thread: threading.Thread | None = None

    def send(self, delivery: Delivery) -> None:
        with self._lock:
            self.log.append(delivery)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
                self._thread.start()
        self._queue.put(delivery)

    def _run(self) -> None:
        with httpx.Client(transport=self._transport, timeout=self._timeout) as client:
            while True:
                delivery = self._queue.get()
                try:
                    response = client.post(delivery.url, content=delivery.body, headers=delivery.headers)
                    delivery.status_code = response.status_code
                    delivery.reply = response.text[:200]
                except httpx.HTTPError as exc:
                    delivery.error = f"{exc.__class__.__name__}: {exc}"
                    logger.info("emulator webhook to %s failed: %s", delivery.url, delivery.error)
                finally:
                    delivery.done.set()

    def wait(self, timeout: float = 5.0) -> bool:
        """Wait until every logged delivery was attempted. True if they all were."""
        with self._lock:
            pending = list(self.log)
        return all(delivery.done.wait(timeout) for delivery in pending)

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [delivery.as_dict() for delivery in self.log]

    def clear(self) -> None:
        with self._lock:
            self.log.clear()
