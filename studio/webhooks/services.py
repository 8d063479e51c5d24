"""Outgoing webhooks: registering endpoints, emitting events, and delivering them signed (Standard Webhooks).

Invariants:
- A target URL passes the SSRF guard (``generations.providers.ssrf``) when it is registered AND at every send. At send
  time the host is resolved once, every address must be public, and the request connects to the address that was
  checked (``Host`` header and TLS SNI keep the name), so a DNS answer that changes after the check (rebinding) cannot
  steer the request to a private address. Only ``WEBHOOK_ALLOWED_HOSTS`` (tests) bypass this.
- Signatures come from the ``standardwebhooks`` package: ``webhook-id`` (the message id, stable across retries),
  ``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64>`` per signing secret, space-separated during a
  rotation's overlap).
- A delivery is attempted only after claiming it (a conditional UPDATE that pushes ``next_attempt_at`` forward), so
  the sweep and the first-attempt task never send the same attempt twice; a worker that dies mid-attempt leaves the
  claim to expire and the sweep retries.
- Retries follow ``WEBHOOK_RETRY_SCHEDULE``; after the last one the delivery has failed. When an endpoint has failed
  without a single 2xx for ``WEBHOOK_DISABLE_AFTER_SECONDS`` and a delivery gives up, the endpoint is disabled and the
  team's webhook admins are notified.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from generations.providers.ssrf import UnsafeURLError, check_url, host_is_allowed, is_public_address
from studio.audit.models import AuditAction
from studio.audit.services import audit_record
from studio.webhooks.models import (
    TEST_EVENT,
    DeliveryState,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from studio.accounts.models import User
    from studio.teams.models import Team

Resolver = Callable[[str, int], list[str]]
MAX_ENDPOINTS_PER_TEAM = 20
CLAIM_SLACK_SECONDS = 30.0


class WebhookError(ValueError):
    """A webhook change was refused; the message is user-facing and nothing changed."""


def _system_resolver(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


_resolver: Resolver = _system_resolver


def set_resolver(resolver: Resolver | None) -> None:
    """Tests replace DNS here (e.g. a rebinding resolver); None restores the system's."""
    global _resolver
    _resolver = resolver or _system_resolver


@dataclass(frozen=True)
class Target:
    """Where to connect for a URL: ``connect_url`` (the checked address, or the URL itself for allowed hosts) and
    the ``host`` to send as ``Host`` and TLS SNI."""

    url: str
    connect_url: str
    host: str
    address: str


def resolve_target(url: str) -> Target:
    """Check ``url`` with the SSRF guard and pin it to one checked address. Raises ``UnsafeURLError``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    allowed = [str(h) for h in settings.WEBHOOK_ALLOWED_HOSTS]
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError("Webhook URLs must start with https:// (or http://).")
    if host and host_is_allowed(host, allowed):
        check_url(url, allowed_hosts=allowed)
        return Target(url=url, connect_url=url, host=host, address=host)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURLError(f"invalid port: {exc}") from exc
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = _resolver(host, port)
        except OSError as exc:
            raise UnsafeURLError(f"cannot resolve host {host!r}: {exc}") from exc
    # The same rules as every other outgoing fetch, applied to exactly the addresses we will connect to.
    check_url(url, allowed_hosts=[], resolver=lambda _h, _p: addresses)
    address = addresses[0]
    if not is_public_address(address):  # pragma: no cover - check_url refused it already
        raise UnsafeURLError(f"refusing {host!r}: non-public address {address}")
    netloc_host = f"[{address}]" if ":" in address else address
    netloc = f"{netloc_host}:{parts.port}" if parts.port else netloc_host
    connect = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return Target(url=url, connect_url=connect, host=host, address=address)


def check_target(url: str) -> None:
    """Registration-time check: a user-facing ``WebhookError`` unless ``url`` is a public http(s) URL."""
    if len(url) > 500:
        raise WebhookError("The URL is too long (at most 500 characters).")
    try:
        resolve_target(url)
    except UnsafeURLError as exc:
        raise WebhookError(
            f"This URL cannot receive webhooks: {exc}. Use a public https:// address (not private, loopback or "
            "cloud metadata addresses)."
        ) from exc


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _clean_events(event_types: Iterable[str]) -> list[str]:
    chosen = sorted({str(e) for e in event_types})
    unknown = [e for e in chosen if e not in EventType.values]
    if unknown:
        raise WebhookError(f"Unknown event type(s): {', '.join(unknown)}.")
    if not chosen:
        raise WebhookError("Pick at least one event type.")
    return chosen


def _audit(endpoint: WebhookEndpoint, actor: User | None, what: str, request: HttpRequest | None) -> None:
    audit_record(
        action=AuditAction.WEBHOOK_ENDPOINT_CHANGED,
        actor=actor,
        team=endpoint.team,
        target=endpoint,
        request=request,
        data={"change": what, "url": endpoint.url, "event_types": endpoint.event_types},
    )


@transaction.atomic
def endpoint_create(
    *,
    team: Team,
    actor: User,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    request: HttpRequest | None = None,
) -> WebhookEndpoint:
    url = url.strip()
    check_target(url)
    events = _clean_events(event_types)
    if WebhookEndpoint.objects.filter(team=team).count() >= MAX_ENDPOINTS_PER_TEAM:
        raise WebhookError(f"A team can have at most {MAX_ENDPOINTS_PER_TEAM} webhook endpoints.")
    endpoint = WebhookEndpoint.objects.create(
        team=team,
        url=url,
        description=description.strip()[:200],
        event_types=events,
        secret=new_secret(),
        created_by=actor,
    )
    _audit(endpoint, actor, "created", request)
    return endpoint


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor: User,
    event_types: Sequence[str],
    description: str,
    enabled: bool,
    request: HttpRequest | None = None,
) -> WebhookEndpoint:
    endpoint.event_types = _clean_events(event_types)
    endpoint.description = description.strip()[:200]
    if enabled and not endpoint.is_enabled:
        check_target(endpoint.url)
        endpoint.failing_since = None
        endpoint.disabled_reason = ""
    elif not enabled and endpoint.is_enabled:
        endpoint.disabled_reason = f"Disabled by {actor.email}."
    endpoint.is_enabled = enabled
    endpoint.save()
    _audit(endpoint, actor, "updated", request)
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, actor: User, request: HttpRequest | None = None
) -> WebhookEndpoint:
    """A new secret signs from now on; the old one keeps signing beside it for WEBHOOK_SECRET_OVERLAP_SECONDS."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    _audit(endpoint, actor, "secret rotated", request)
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor: User, request: HttpRequest | None = None) -> None:
    _audit(endpoint, actor, "deleted", request)
    endpoint.delete()


# --- Emitting ---------------------------------------------------------------------------------------------------------


def _enqueue(delivery_ids: list[int]) -> None:
    from studio.webhooks import tasks

    for delivery_id in delivery_ids:
        tasks.webhook_deliver.delay(delivery_id)


@transaction.atomic
def event_emit(*, team_id: int, event_type: str, data: dict[str, Any]) -> WebhookMessage | None:
    """Record one event and a delivery to each enabled endpoint of the team subscribed to it (first attempts are
    sent after commit). None when no endpoint wants it (nothing is stored)."""
    endpoints = [
        e for e in WebhookEndpoint.objects.filter(team_id=team_id, is_enabled=True) if event_type in e.event_types
    ]
    if not endpoints:
        return None
    message = _message(team_id=team_id, event_type=event_type, data=data)
    ids = [WebhookDelivery.objects.create(endpoint=e, message=message).pk for e in endpoints]
    transaction.on_commit(lambda: _enqueue(ids))
    return message


def _message(*, team_id: int, event_type: str, data: dict[str, Any]) -> WebhookMessage:
    now = timezone.now()
    payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    return WebhookMessage.objects.create(team_id=team_id, event_type=event_type, payload=payload, created_at=now)


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A ``webhook.test`` event to this endpoint only (whatever it subscribes to)."""
    message = _message(
        team_id=endpoint.team_id,
        event_type=TEST_EVENT,
        data={"endpoint_id": endpoint.pk, "message": "This is a test event from the studio."},
    )
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, message=message)
    transaction.on_commit(lambda: _enqueue([delivery.pk]))
    return delivery


@transaction.atomic
def delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same message (same ``webhook-id``, so receivers can de-duplicate) again, as a new delivery."""
    again = WebhookDelivery.objects.create(endpoint=delivery.endpoint, message=delivery.message)
    transaction.on_commit(lambda: _enqueue([again.pk]))
    return again


# --- Delivering -------------------------------------------------------------------------------------------------------


def sign(*, secrets_: Sequence[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` header value: one ``v1,<sig>`` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets_)


def _claim(delivery_id: int, now: datetime) -> bool:
    lease = now + timedelta(seconds=float(settings.WEBHOOK_TIMEOUT_SECONDS) + CLAIM_SLACK_SECONDS)
    return bool(
        WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now).update(
            next_attempt_at=lease, updated_at=now
        )
    )


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _send(endpoint: WebhookEndpoint, message: WebhookMessage) -> Outcome:
    started = time.monotonic()
    try:
        target = resolve_target(endpoint.url)
    except UnsafeURLError as exc:
        return Outcome(None, "", f"refused by the SSRF guard: {exc}"[:300], 0)
    body = json.dumps(message.payload, separators=(",", ":"), sort_keys=True)
    now = timezone.now()
    headers = {
        "content-type": "application/json",
        "user-agent": "Studio-Webhooks/1",
        "webhook-id": message.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(secrets_=endpoint.signing_secrets(), msg_id=message.id, timestamp=now, body=body),
        "host": urlsplit(endpoint.url).netloc.rsplit("@", 1)[-1],
    }
    extensions = {"sni_hostname": target.host} if target.connect_url != target.url else {}
    try:
        with (
            httpx.Client(timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS), follow_redirects=False) as client,
            client.stream(
                "POST", target.connect_url, content=body.encode(), headers=headers, extensions=extensions
            ) as response,
        ):
            # Only the start of the answer is kept for the log; a receiver cannot make us read a huge body.
            head = next(response.iter_bytes(chunk_size=500), b"")[:500]
        text = head.decode("utf-8", errors="replace")
        return Outcome(response.status_code, text, "", int((time.monotonic() - started) * 1000))
    except httpx.HTTPError as exc:
        return Outcome(None, "", f"{type(exc).__name__}: {exc}"[:300], int((time.monotonic() - started) * 1000))


def delivery_attempt(*, delivery_id: int) -> str:
    """Make the due attempt of one delivery, if it is still pending and due (else do nothing). Returns its state."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint", "message", "endpoint__team").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_enabled:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.FAILED, last_error="The endpoint is disabled.", updated_at=now
        )
        return DeliveryState.FAILED
    outcome = _send(endpoint, delivery.message)
    return _record(delivery, outcome)


@transaction.atomic
def _record(delivery: WebhookDelivery, outcome: Outcome) -> str:
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        at=now,
        status_code=outcome.status_code,
        response_body=outcome.body,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
    )
    attempts = delivery.attempts + 1
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    fields: dict[str, Any] = {"attempts": attempts, "last_status_code": outcome.status_code, "updated_at": now}
    fields["last_error"] = outcome.error or ("" if outcome.ok else f"HTTP {outcome.status_code}")
    if outcome.ok:
        fields["state"] = DeliveryState.SUCCEEDED
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since"])
    else:
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            endpoint.save(update_fields=["failing_since"])
        schedule: list[float] = list(settings.WEBHOOK_RETRY_SCHEDULE)
        if attempts <= len(schedule):
            fields["next_attempt_at"] = now + timedelta(seconds=schedule[attempts - 1])
        else:
            fields["state"] = DeliveryState.FAILED
            _maybe_disable(endpoint, now)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    return str(fields.get("state", DeliveryState.PENDING))


def _maybe_disable(endpoint: WebhookEndpoint, now: datetime) -> None:
    """Disable an endpoint that has not answered 2xx for WEBHOOK_DISABLE_AFTER_SECONDS, and tell its admins."""
    from studio.notifications.services import notify
    from studio.teams.access import Perm, members_with

    window = timedelta(seconds=float(settings.WEBHOOK_DISABLE_AFTER_SECONDS))
    if not endpoint.is_enabled or endpoint.failing_since is None or now - endpoint.failing_since < window:
        return
    endpoint.is_enabled = False
    endpoint.disabled_reason = (
        f"Disabled automatically: no successful delivery since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC."
    )
    endpoint.save(update_fields=["is_enabled", "disabled_reason"])
    url = reverse("webhooks:detail", kwargs={"pk": endpoint.pk})
    for admin in members_with(endpoint.team_id, Perm.MANAGE_WEBHOOKS):
        notify(
            user=admin,
            kind="webhooks.disabled",
            message=f"The webhook endpoint {endpoint.url} of {endpoint.team} was disabled after failing deliveries.",
            url=url,
            key=f"webhooks:disabled:{endpoint.pk}:{endpoint.failing_since.isoformat()}",
            email=True,
        )


def deliveries_due(*, limit: int = 200) -> list[int]:
    """Ids of pending deliveries whose next attempt is due (the sweep sends each to the worker)."""
    return list(
        WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
