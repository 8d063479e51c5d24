"""System checks: Stripe configured half-way is an error (a key without a webhook secret would take money and
never credit it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error


def check_stripe_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.STRIPE_SECRET_KEY and not settings.STRIPE_WEBHOOK_SECRET:
        return [
            Error(
                "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not.",
                hint="Set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret (whsec_…) for "
                "/billing/stripe/webhook/; without it, paid checkouts are never credited by the webhook.",
                id="billing.E001",
            )
        ]
    return []
