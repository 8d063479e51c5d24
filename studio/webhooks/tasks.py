"""Celery tasks of the outgoing webhooks: each takes ids and calls one service."""

from __future__ import annotations

from celery import shared_task

from studio.webhooks import services


@shared_task(name="studio.webhooks.tasks.webhook_deliver")  # type: ignore[untyped-decorator]
def webhook_deliver(delivery_id: int) -> str:
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="studio.webhooks.tasks.webhook_deliver_due")  # type: ignore[untyped-decorator]
def webhook_deliver_due() -> int:
    """The sweep (beat): hand every due retry to a worker. The claim in ``delivery_attempt`` keeps it single."""
    due = services.deliveries_due()
    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    return len(due)
