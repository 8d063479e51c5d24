"""Polling: the provider's answer is the source of truth for a submitted job.

The chain is single: a poll task carries ``seq``, and a run first moves ``poll_seq`` from ``seq`` to ``seq + 1``
(compare-and-set). A stale task (its chain was replaced by a webhook prompt or by the reconciler) does nothing.
Polls never sleep: the next one is a countdown task — the provider's Retry-After, else ``base × 2^n`` capped at
``poll_max_seconds``, never below the provider's floor (DashScope ≥ 5 s).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from django.db.models import F
from django.utils import timezone

from generations.models import GenerationJob
from generations.providers.base import PollResult, ProviderState
from generations.providers.errors import ProviderError, RateLimitedError, TransientError
from generations.providers.registry import get_adapter
from generations.services import config, enqueue
from generations.services.attempts import recording
from generations.services.lifecycle import finish_job
from generations.states import AT_PROVIDER, State, transition

logger = logging.getLogger("generations.poll")


def poll_delay(*, provider: str, poll_count: int, retry_after: float | None = None) -> float:
    """Seconds until the next poll (module docstring)."""
    base: float = config.poll_base_seconds() * 2.0 ** min(poll_count, 16)
    delay: float = max(min(base, config.poll_max_seconds()), config.provider_min_poll_seconds(provider))
    if retry_after is not None:
        delay = max(delay, min(retry_after, config.poll_max_seconds() * 2))
    return delay


def schedule_poll(job: GenerationJob, *, delay: float) -> None:
    """Set ``next_poll_at`` and enqueue the chain's next poll (with the job's current ``poll_seq``)."""
    GenerationJob.objects.filter(pk=job.pk, poll_seq=job.poll_seq).update(
        next_poll_at=timezone.now() + timedelta(seconds=delay)
    )
    enqueue.poll(job.pk, seq=job.poll_seq, countdown=delay)


def restart_poll_chain(job: GenerationJob, *, delay: float = 0.0) -> None:
    """Replace whatever poll chain exists with a new one (webhook prompt, reconciler). Old tasks become stale."""
    GenerationJob.objects.filter(pk=job.pk).update(poll_seq=F("poll_seq") + 1)
    job.refresh_from_db(fields=["poll_seq", "state"])
    if job.state in AT_PROVIDER:
        schedule_poll(job, delay=delay)


def generation_poll(*, job_id: UUID, seq: int) -> None:
    """Ask the provider about ``job_id`` once, apply the answer, schedule the next poll if it is still running."""
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None or job.state not in AT_PROVIDER or job.poll_seq != seq:
        return
    # Claim this link of the chain; while the call runs the job is not "overdue" for the reconciler.
    claimed = GenerationJob.objects.filter(pk=job.pk, poll_seq=seq, state__in=AT_PROVIDER).update(
        poll_seq=seq + 1,
        poll_count=F("poll_count") + 1,
        next_poll_at=timezone.now() + timedelta(seconds=config.stuck_seconds()),
    )
    if claimed != 1:
        return
    job.refresh_from_db()
    if job.submitted_at and timezone.now() - job.submitted_at > timedelta(seconds=config.provider_horizon_seconds()):
        expire_job(job, note="past the provider's horizon")
        return
    try:
        with recording(job.pk):
            result = get_adapter(job.provider).poll(job.provider_job_id)
    except TransientError as exc:
        retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
        schedule_poll(job, delay=poll_delay(provider=job.provider, poll_count=job.poll_count, retry_after=retry_after))
        return
    except ProviderError as exc:
        _poll_error(job, exc)
        return
    if job.poll_errors:
        GenerationJob.objects.filter(pk=job.pk).update(poll_errors=0)
    apply_poll_result(job, result)


def _poll_error(job: GenerationJob, exc: ProviderError) -> None:
    """An unreadable or refused poll answer: retry with backoff; after too many in a row, fail (hold released)."""
    errors = job.poll_errors + 1
    GenerationJob.objects.filter(pk=job.pk).update(poll_errors=errors)
    logger.warning("job %s: poll error %d: %s", job.pk, errors, exc)
    if errors >= config.max_poll_errors():
        finish_job(
            job,
            to=State.FAILED,
            from_states=[job.state],
            note=f"{errors} poll errors in a row",
            error_code=(exc.code or type(exc).__name__)[:100],
            error_message=f"We could not read the job's status from {job.provider}: {exc.message}",
        )
        return
    schedule_poll(job, delay=poll_delay(provider=job.provider, poll_count=job.poll_count))


def expire_job(job: GenerationJob, *, note: str) -> bool:
    return finish_job(
        job,
        to=State.EXPIRED,
        from_states=[job.state],
        note=note,
        error_code="expired",
        error_message="The provider no longer knows this job (it is past its retention); your credits were returned.",
    )


def apply_poll_result(job: GenerationJob, result: PollResult) -> None:
    """Move the job according to the provider's normalized state. Out-of-date answers lose the compare-and-set."""
    state = result.state
    if state == ProviderState.QUEUED:
        schedule_poll(job, delay=poll_delay(provider=job.provider, poll_count=job.poll_count))
    elif state == ProviderState.RUNNING:
        if job.state == State.SUBMITTED:
            transition(job, to=State.RUNNING, from_states=[State.SUBMITTED], note=f"running ({result.raw_status})")
        schedule_poll(job, delay=poll_delay(provider=job.provider, poll_count=job.poll_count))
    elif state == ProviderState.SUCCEEDED:
        expires = (
            timezone.now() + timedelta(seconds=result.output_url_ttl) if result.output_url_ttl is not None else None
        )
        changed = transition(
            job,
            to=State.DOWNLOADING,
            from_states=[State.SUBMITTED, State.RUNNING],
            note="provider finished; saving the output",
            provider_output_url=result.output_url,
            provider_output_expires_at=expires,
            billed_seconds=result.billed_seconds,
            provider_credits=result.provider_credits,
            next_poll_at=None,
        )
        if changed:
            enqueue.finalize(job.pk)
            enqueue.dispatch()
    elif state == ProviderState.MODERATED:
        finish_job(
            job,
            to=State.MODERATED,
            from_states=[State.SUBMITTED, State.RUNNING],
            note="moderated by the provider" + (" (NSFW flag)" if result.nsfw else ""),
            error_code=(result.error_code or ("nsfw" if result.nsfw else "moderated"))[:100],
            error_message=result.error_message or "The provider's content checks blocked this video.",
            provider_credits=result.provider_credits,
        )
    elif state == ProviderState.FAILED:
        finish_job(
            job,
            to=State.FAILED,
            from_states=[State.SUBMITTED, State.RUNNING],
            note=f"provider reported failure ({result.raw_status})",
            error_code=(result.error_code or "provider_failed")[:100],
            error_message=result.error_message or f"{job.provider} could not generate this video.",
            provider_credits=result.provider_credits,
        )
    elif state == ProviderState.CANCELED:
        finish_job(
            job,
            to=State.CANCELED,
            from_states=[State.SUBMITTED, State.RUNNING],
            note="canceled at the provider",
        )
    elif state == ProviderState.EXPIRED:
        young = job.submitted_at is not None and timezone.now() - job.submitted_at < timedelta(
            seconds=config.provider_horizon_seconds()
        )
        if young and get_adapter(job.provider).expired_means_not_yet(result):
            # A provider quirk (DashScope's UNKNOWN for a young id), decided by its adapter.
            _poll_error(job, ProviderError("UNKNOWN status for a young task id", provider=job.provider, code="UNKNOWN"))
            return
        expire_job(job, note=f"provider reports the job as gone ({result.raw_status})")
