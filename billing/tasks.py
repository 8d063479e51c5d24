"""Celery tasks for billing (ids in, one service call)."""

from __future__ import annotations

import logging

from celery import shared_task

from billing.purchases import stripe_events_prune
from billing.reconcile import reconcile

logger = logging.getLogger(__name__)


@shared_task(name="billing.tasks.reconcile_ledger")  # type: ignore[untyped-decorator]
def reconcile_ledger() -> dict[str, object]:
    """Hourly (beat): check the ledger's invariants. Logs an error per problem; fixes nothing."""
    report = reconcile()
    if report.ok:
        logger.info(report.summary())
    else:
        logger.error(report.summary())
    return {"ok": report.ok, "problems": report.problems}


@shared_task(name="billing.tasks.prune_stripe_events")  # type: ignore[untyped-decorator]
def prune_stripe_events() -> dict[str, int]:
    """Daily (beat): the Stripe delivery log's retention period."""
    return stripe_events_prune()
