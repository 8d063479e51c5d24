"""Outgoing webhooks from the emulator: WaveSpeed's documented scheme, PixVerse's unverified one.

WaveSpeed (providers.md §2): headers ``webhook-id``, ``webhook-timestamp`` (unix seconds) and
``webhook-signature: v3,<hex>``, where hex = HMAC-SHA256(secret without ``whsec_``, "{id}.{timestamp}.{body}").

PixVerse (providers.md §1, UNVERIFIED, sent only when configured): headers ``webhook-timestamp``, ``webhook-nonce``,
``webhook-signature`` = base64(HMAC-SHA256(secret, timestamp + "\\n" + nonce + "\\n" + encodeURIComponent(body))),
and ``Ai-trace-id``.

The signers are ``generations.providers.webhooks``'s (one implementation for the sender here and the studio's
verifier); that module imports ``django.conf`` lazily and needs no settings to sign.

Deliveries happen on one background thread, once (retries are undocumented), and are recorded for
``GET /_control/webhooks``.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from generations.providers import webhooks as provider_webhooks

logger = logging.getLogger(__name__)


def sign_wavespeed(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The ``webhook-signature`` header value WaveSpeed sends: ``v3,<hex>`` (the studio's one implementation)."""
    return provider_webhooks.sign_wavespeed(body=body, secret=secret, webhook_id=webhook_id, timestamp=int(timestamp))


def sign_pixverse(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The ``webhook-signature`` header value of PixVerse's (unverified) scheme (the studio's one implementation)."""
    return provider_webhooks.sign_pixverse(body=body, secret=secret, timestamp=timestamp, nonce=nonce)


@dataclass
class Delivery:
    provider: str
    url: str
    headers: dict[str, str]
    body: bytes
    status_code: int | None = None
    error: str = ""
    done: threading.Event = field(default_factory=threading.Event)

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "url": self.url,
            "headers": self.headers,
            "body": self.body.decode("utf-8"),
            "status_code": self.status_code,
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
