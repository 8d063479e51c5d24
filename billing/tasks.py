"""Celery tasks for billing (ids in, one service call)."""

from __future__ import annotations

import logging

from celery import shared_task

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
