"""What the rest of the studio calls to emit webhook events (after its transaction commits)."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from studio.webhooks.models import EventType

logger = logging.getLogger("studio.webhooks")

#: Terminal job states → event types (an expired job is reported as failed; ``data.state`` says which).
JOB_EVENTS = {
    "succeeded": EventType.GENERATION_SUCCEEDED,
    "failed": EventType.GENERATION_FAILED,
    "expired": EventType.GENERATION_FAILED,
    "moderated": EventType.GENERATION_MODERATED,
    "canceled": EventType.GENERATION_CANCELED,
}


def generation_finished(job_id: UUID | str) -> None:
    """Emit the event of a job that reached a terminal state. Never raises: the job is already final."""
    from generations.api import generation_out
    from generations.models import GenerationJob
    from studio.webhooks.services import event_emit

    try:
        job = GenerationJob.objects.select_related("creator", "project").get(pk=job_id)
        event_type = JOB_EVENTS.get(job.state)
        if event_type is None:
            return
        data: dict[str, Any] = generation_out(job).model_dump(mode="json")
        event_emit(team_id=job.team_id, event_type=event_type, data=data)
    except Exception:  # a webhook problem must never break the pipeline
        logger.exception("could not emit the webhook event of job %s", job_id)


def wallet_low_balance(*, team_id: int, wallet_id: int, wallet_label: str, balance: int, threshold: int) -> None:
    from studio.webhooks.services import event_emit

    try:
        event_emit(
            team_id=team_id,
            event_type=EventType.WALLET_LOW_BALANCE,
            data={"wallet": {"id": wallet_id, "label": wallet_label}, "balance": balance, "threshold": threshold},
        )
    except Exception:
        logger.exception("could not emit wallet.low_balance for wallet %s", wallet_id)
