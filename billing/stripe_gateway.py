"""The ONE module that talks to Stripe (Saleor's gateway wrapper). Everything else sees the dataclasses below.

``STRIPE_API_BASE`` points the SDK at another base URL (the tests' local fake of Stripe's API). Webhook signatures
are checked on the raw body with a 300-second tolerance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

import stripe
from django.conf import settings

from billing.errors import StripeNotConfigured

WEBHOOK_TOLERANCE_SECONDS = 300


class GatewayError(Exception):
    """Stripe refused or could not be reached; the message is safe to show staff, not necessarily customers."""


class InvalidWebhook(Exception):
    """The delivery is not a genuine, recent Stripe event."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str = ""
    status: str = ""  # open | complete | expired
    payment_status: str = ""  # paid | unpaid | no_payment_required
    payment_intent: str = ""
    client_reference_id: str = ""
    amount_total: int | None = None
    currency: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def is_paid(self) -> bool:
        return self.payment_status in ("paid", "no_payment_required")


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    if not is_configured():
        raise StripeNotConfigured()
    base_addresses: Any = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses=base_addresses, max_network_retries=2)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(value.get("id", "")) if hasattr(value, "get") else str(value)


def session_from_payload(payload: Any) -> CheckoutSession:
    """A ``CheckoutSession`` from a Stripe session object (an SDK object or the dict inside a webhook event)."""
    data = payload.to_dict() if hasattr(payload, "to_dict") else dict(payload)
    return CheckoutSession(
        id=str(data["id"]),
        url=_text(data.get("url")),
        status=_text(data.get("status")),
        payment_status=_text(data.get("payment_status")),
        payment_intent=_text(data.get("payment_intent")),
        client_reference_id=_text(data.get("client_reference_id")),
        amount_total=data.get("amount_total"),
        currency=_text(data.get("currency")),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    )


def create_checkout_session(
    *,
    name: str,
    credits: int,
    amount_cents: int,
    currency: str,
    success_url: str,
    cancel_url: str,
    client_reference_id: str,
    metadata: dict[str, str],
    customer_email: str = "",
    idempotency_key: str = "",
) -> CheckoutSession:
    """Create a Checkout Session in payment mode for one credit pack. ``success_url`` should contain the literal
    ``{CHECKOUT_SESSION_ID}``, which Stripe replaces."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount_cents,
                    "product_data": {"name": name, "description": f"{credits} studio credits"},
                },
            }
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
    }
    if customer_email:
        params["customer_email"] = customer_email
    options: Any = {"idempotency_key": idempotency_key} if idempotency_key else None
    try:
        session = _client().v1.checkout.sessions.create(params=cast(Any, params), options=options)
    except stripe.StripeError as exc:
        raise GatewayError(f"Stripe refused to create the checkout session: {exc.user_message or exc}") from exc
    return session_from_payload(session)


def retrieve_checkout_session(session_id: str) -> CheckoutSession:
    try:
        session = _client().v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as exc:
        raise GatewayError(f"Could not fetch checkout session {session_id}: {exc.user_message or exc}") from exc
    return session_from_payload(session)


def verify_webhook(*, payload: bytes, signature_header: str | None) -> dict[str, Any]:
    """Check the ``Stripe-Signature`` header against the raw body (HMAC with STRIPE_WEBHOOK_SECRET, timestamp no
    older than 300 s) and return the parsed event. Raises ``InvalidWebhook``."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise InvalidWebhook("STRIPE_WEBHOOK_SECRET is not set")
    if not signature_header:
        raise InvalidWebhook("Missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature_header, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidWebhook(str(exc)) from exc
    if not isinstance(event, dict) or "type" not in event or "data" not in event:
        raise InvalidWebhook("Not a Stripe event")
    return event
