"""Issue 13 finding 5: the Stripe webhook verifies before it stores, keeps only a capped record of rejected
deliveries, caps the body size and has a retention period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import EventStatus, StripeEvent
from billing.purchases import REJECTED_BODY_EXCERPT_CHARS, stripe_events_prune
from tests.billing.conftest import event_payload, post_event

URL = "/billing/stripe/webhook/"


@pytest.fixture
def webhook_secret(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_secret"


@pytest.mark.django_db
def test_finding_05_unsigned_deliveries_leave_only_a_capped_record(webhook_secret: None, settings: Any) -> None:
    settings.STRIPE_REJECTED_KEEP = 5
    body = '{"id": "evt_x", "pad": "' + "A" * 200_000 + '"}'
    client = Client()
    for _ in range(20):
        response = client.post(URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=bad")
        assert response.status_code == 400
    rows = list(StripeEvent.objects.all())
    assert len(rows) == 5  # the cap, however many arrive
    assert all(row.status == EventStatus.INVALID and not row.signature_valid for row in rows)
    assert all(len(row.body) <= REJECTED_BODY_EXCERPT_CHARS for row in rows)
    assert sum(len(row.body) for row in rows) <= 5 * REJECTED_BODY_EXCERPT_CHARS


@pytest.mark.django_db
def test_finding_05_verified_deliveries_are_stored_in_full(webhook_secret: None) -> None:
    payload = event_payload("customer.created", {"id": "cus_1", "note": "n" * 5000}, event_id="evt_full")
    assert post_event(Client(), payload).status_code == 200
    row = StripeEvent.objects.get(event_id="evt_full")
    assert row.signature_valid and row.body == payload and row.status == EventStatus.IGNORED


@pytest.mark.django_db
def test_finding_05_body_over_the_cap_is_413_and_stores_nothing(webhook_secret: None, settings: Any) -> None:
    settings.STRIPE_WEBHOOK_MAX_BYTES = 4096
    payload = event_payload("customer.created", {"id": "cus_1", "note": "n" * 5000}, event_id="evt_big")
    response = post_event(Client(), payload)
    assert response.status_code == 413
    assert "larger than 4096" in response.content.decode()
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db
def test_finding_05_retention_prunes_old_rows_but_keeps_failed_ones() -> None:
    now = timezone.now()
    old, recent = now - timedelta(days=500), now - timedelta(days=1)
    for status in (EventStatus.INVALID, EventStatus.PROCESSED, EventStatus.IGNORED, EventStatus.FAILED):
        StripeEvent.objects.create(body="{}", status=status, received_at=old)
        StripeEvent.objects.create(body="{}", status=status, received_at=recent)
    StripeEvent.objects.create(body="{}", status=EventStatus.INVALID, received_at=now - timedelta(days=8))
    removed = stripe_events_prune(now=now)
    assert removed == {"rejected": 2, "processed": 2}
    left = sorted(StripeEvent.objects.values_list("status", "received_at"))
    assert (EventStatus.FAILED, old) in left  # Stripe may still be retrying it; staff see it on the reconcile page
    assert StripeEvent.objects.filter(received_at=recent).count() == 4
