"""The job's side of the ledger: one hold per job, resolved exactly once, always together with a state change.

Callers run these *inside* the transaction that moves the job to its terminal state, so the state change and the
ledger entry commit (or roll back) together. A ``HoldAlreadyResolved`` here means a bug or a manual intervention:
it is logged loudly and the state change still stands (the ledger is already final for this hold).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction

from billing import ledger
from billing.errors import HoldAlreadyResolved
from billing.metering import price_credits
from billing.models import Hold, HoldState, RateCard

if TYPE_CHECKING:
    from generations.models import GenerationJob

logger = logging.getLogger("generations.money")


def _open_hold(job: GenerationJob) -> Hold | None:
    if job.hold_id is None:
        return None
    return Hold.objects.select_for_update().filter(pk=job.hold_id).first()


def release_job_hold(*, job: GenerationJob, reason: str) -> None:
    """Give the job's whole hold back (failure, moderation, expiry, cancel before the provider made anything)."""
    hold = _open_hold(job)
    if hold is None:
        return
    if hold.state != HoldState.OPEN:
        logger.error("job %s: hold %s already %s; not releasing again", job.pk, hold.key, hold.state)
        return
    try:
        with transaction.atomic():
            ledger.release(hold=hold, reason=reason[:300])
    except HoldAlreadyResolved:
        logger.exception("job %s: hold %s was resolved concurrently", job.pk, hold.key)


def capture_price(*, job: GenerationJob, hold: Hold) -> tuple[int, float]:
    """(credits, seconds) to charge: the rate of the job's rate card × the provider's billed seconds (or the requested
    duration when the provider does not say), never more than the hold."""
    seconds = job.billed_seconds if job.billed_seconds is not None else float(job.duration)
    card = RateCard.objects.filter(version=job.rate_card_version).first() if job.rate_card_version else None
    credits = price_credits(seconds=seconds, resolution=job.resolution, audio=job.generate_audio_switch, rate_card=card)
    return min(credits, int(hold.amount)), seconds


def capture_job_hold(*, job: GenerationJob) -> int:
    """Charge the job (see ``capture_price``) and release the rest of its hold. Returns the credits charged."""
    hold = _open_hold(job)
    if hold is None:
        return 0
    if hold.state != HoldState.OPEN:
        logger.error("job %s: hold %s already %s; not capturing again", job.pk, hold.key, hold.state)
        return int(hold.captured_amount)
    amount, seconds = capture_price(job=job, hold=hold)
    try:
        with transaction.atomic():
            ledger.capture(
                hold=hold,
                amount=amount,
                usage={
                    "seconds": seconds,
                    "provider": job.provider,
                    "resolution": job.resolution,
                    "audio": job.generate_audio_switch,
                },
            )
    except HoldAlreadyResolved:
        logger.exception("job %s: hold %s was resolved concurrently", job.pk, hold.key)
    return amount
