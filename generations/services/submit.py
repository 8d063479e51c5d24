"""Submitting a job: the one paid create request per job, ever.

Order of operations (the money line, DESIGN.md §3):
1. The job is ``submitting`` (a slot was claimed by ``generations.slots``).
2. ``submit_sent_at`` is set by a compare-and-set and committed BEFORE the request: it marks "a create may be on
   the wire". The same update stores what identifies that create: the job's UUID is its idempotency key, and a
   fresh client trace id (PixVerse ``Ai-trace-id``, ``JobSpec.trace_id``) is minted for each send of a provider that
   takes one. A run that finds ``submit_sent_at`` already set — a worker died mid-call, or the task was delivered
   twice — never sends again: the job goes to ``unknown`` for reconciliation.
3. The adapter's answer decides:
   - accepted → ``submitted`` (provider id and trace id stored) and the poll chain starts;
   - ``AmbiguousSubmitError`` (or anything unexpected after the send) → ``unknown``; never failover, never resend;
   - ``ModerationError`` → ``moderated`` (hold released);
   - other ``NotAccepted`` (nothing created, nothing billed) → back to ``queued`` (429/5xx/500044, after the provider's
     Retry-After or a backoff), or to the next provider (``auto`` routing only), or ``failed`` (permanent refusal,
     or too many refusals) with the hold released.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from generations import routing
from generations.models import AUTO, GenerationJob
from generations.providers.base import JobSpec
from generations.providers.errors import (
    AccountExhaustedError,
    AmbiguousSubmitError,
    ConcurrencyFullError,
    ModerationError,
    NotAccepted,
    RateLimitedError,
    TransientError,
)
from generations.providers.registry import adapter_class, get_adapter
from generations.services import alerts, config, enqueue
from generations.services.attempts import recording
from generations.services.lifecycle import finish_job
from generations.services.poll import first_poll_delay
from generations.services.requests import spec_for_job
from generations.services.specs import MissingInput
from generations.states import State, transition

logger = logging.getLogger("generations.submit")


def requeue_delay(*, attempts: int, retry_after: float | None) -> float:
    """Wait before a refused job is offered again: base × 2^(attempts-1), capped at 5 min, at least Retry-After."""
    backoff: float = min(config.requeue_base_seconds() * 2.0 ** max(0, attempts - 1), 300.0)
    return max(backoff, float(retry_after or 0.0))


def generation_submit(*, job_id: uuid.UUID) -> None:
    """Send ``job_id``'s create request at most once (module docstring). Safe to call any number of times."""
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None or job.state != State.SUBMITTING:
        return
    if job.cancel_requested:
        finish_job(job, to=State.CANCELED, from_states=[State.SUBMITTING], note="canceled before submit")
        return
    if job.submit_sent_at is not None:
        mark_unknown(
            job,
            code="interrupted_submit",
            detail="",
            note="an earlier submit run was interrupted after claiming the send; reconcile, never resend",
        )
        return
    try:
        spec = spec_for_job(job, with_content=True)
    except MissingInput as exc:
        finish_job(
            job,
            to=State.FAILED,
            from_states=[State.SUBMITTING],
            note="input missing",
            error_code="missing_input",
            error_message=str(exc),
        )
        return
    now = timezone.now()
    trace_id = str(uuid.uuid4()) if adapter_class(job.provider).capabilities.client_trace_id else ""
    claimed = GenerationJob.objects.filter(pk=job.pk, state=State.SUBMITTING, submit_sent_at__isnull=True).update(
        submit_sent_at=now, submit_attempts=F("submit_attempts") + 1, provider_trace_id=trace_id
    )
    if claimed != 1:
        return
    job.refresh_from_db()
    _send(job, dataclasses.replace(spec, trace_id=trace_id))


def _send(job: GenerationJob, spec: JobSpec) -> None:
    adapter = get_adapter(job.provider)
    try:
        with recording(job.pk):
            result = adapter.submit(spec)
    except AmbiguousSubmitError as exc:
        routing.record_failure(job.provider)
        _to_unknown(job, code=exc.code or "ambiguous_submit", message=str(exc))
        return
    except ModerationError as exc:
        finish_job(
            job,
            to=State.MODERATED,
            from_states=[State.SUBMITTING],
            note="refused on content grounds at submit",
            error_code=exc.code or "moderation",
            error_message=exc.message,
        )
        return
    except NotAccepted as exc:
        _refused(job, spec, exc)
        return
    except Exception as exc:
        # Unreadable answers are AmbiguousSubmitError by the adapter contract; anything else after the claim is a
        # bug, and the create may have been sent: treat it as ambiguous.
        logger.exception("job %s: unexpected error during submit", job.pk)
        _to_unknown(job, code="submit_error", message=f"{type(exc).__name__}: {exc}")
        return
    routing.record_success(job.provider)
    # The first poll is a due time the sweep claims (generations.services.poll), not a task.
    delay = first_poll_delay(job)
    transition(
        job,
        to=State.SUBMITTED,
        from_states=[State.SUBMITTING],
        note=f"accepted by {job.provider} as {result.provider_job_id}",
        provider_job_id=result.provider_job_id[:100],
        provider_trace_id=(result.trace_id or job.provider_trace_id)[:100],
        submitted_at=timezone.now(),
        next_poll_at=timezone.now() + timedelta(seconds=delay),
        error_code="",
        error_message="",
    )


def unknown_message(provider: str) -> str:
    """What the job page says while a job is ``unknown`` (the reconciler's policy, ``generations.reconcile``)."""
    minutes = max(1, round(config.unknown_grace_seconds() / 60))
    return (
        f"We sent this job to {provider} but did not hear back. We are checking with {provider} and will never send "
        f"it twice; if {provider} cannot confirm it within about {minutes} minutes, the job fails and your credits "
        "are returned."
    )


def mark_unknown(job: GenerationJob, *, code: str, detail: str, note: str) -> bool:
    """``submitting`` → ``unknown``: the create may be at the provider. Reconciled, never resent."""
    return transition(
        job,
        to=State.UNKNOWN,
        from_states=[State.SUBMITTING],
        note=note,
        data={"detail": detail[:2000]} if detail else None,
        error_code=code[:100],
        error_message=unknown_message(job.provider),
    )


def _to_unknown(job: GenerationJob, *, code: str, message: str) -> None:
    mark_unknown(
        job,
        code=code,
        detail=message,
        note="create sent, outcome unknown: reconcile by asking the provider, never resubmit",
    )


def _refused(job: GenerationJob, spec: JobSpec, exc: NotAccepted) -> None:
    """A definite refusal: nothing was created. Fail over (auto), requeue (transient) or fail (module docstring)."""
    if isinstance(exc, AccountExhaustedError):
        # Our account at the provider is empty: permanent for it, so never requeued here; staff must top it up.
        label = adapter_class(job.provider).label
        alerts.provider_account_empty(provider=job.provider, label=label, detail=f"{exc.code}: {exc.message}")
        exc = AccountExhaustedError(
            f"the {label} account cannot take new videos right now (it has run out of credits; our staff have been "
            "told). Nothing was charged: choose Auto or another provider.",
            provider=exc.provider,
            code=exc.code,
            http_status=exc.http_status,
        )
    transient = isinstance(exc, TransientError)
    capacity = isinstance(exc, RateLimitedError | ConcurrencyFullError)
    circuit_open = transient and not capacity and routing.record_failure(job.provider)
    detail = f"{job.provider} refused: {exc}"
    if job.provider_requested == AUTO and (not transient or circuit_open):
        refused = [*job.providers_refused, job.provider]
        try:
            decision = routing.choose_provider(spec=spec, requested=AUTO, exclude=refused)
        except routing.NoProviderAvailable:
            decision = None
        if decision is not None:
            changed = transition(
                job,
                to=State.QUEUED,
                from_states=[State.SUBMITTING],
                note=f"failover after a definite refusal: {detail}"[:500],
                provider=decision.provider,
                routing_reason=f"failover from {job.provider} ({exc.code or type(exc).__name__}); {decision.reason}"[
                    :500
                ],
                providers_refused=refused,
                submit_sent_at=None,
                submit_attempts=0,  # the next provider gets its own full set of tries
                not_before=None,
                error_code=(exc.code or type(exc).__name__)[:100],
            )
            if changed:
                enqueue.dispatch()
            return
    delay = requeue_delay(attempts=job.submit_attempts, retry_after=getattr(exc, "retry_after", None))
    gave_up = transient and past_give_up(job, delay=delay)
    if transient and job.submit_attempts < config.max_submit_attempts() and not gave_up:
        changed = transition(
            job,
            to=State.QUEUED,
            from_states=[State.SUBMITTING],
            note=f"back to the queue for {delay:g} s: {detail}"[:500],
            submit_sent_at=None,
            not_before=timezone.now() + timedelta(seconds=delay),
            error_code=(exc.code or type(exc).__name__)[:100],
        )
        if changed:
            enqueue.dispatch(provider=job.provider, countdown=delay)
            enqueue.dispatch(provider=job.provider)  # the freed slot may serve another job now
        return
    reason = "too many refusals" if transient else "the provider refused the request"
    message = f"{job.provider} could not start this video: {exc.message}"
    if gave_up:
        minutes = max(1, round(config.submit_give_up_seconds() / 60))
        reason = f"gave up after {minutes} min of refusals"
        message = (
            f"{job.provider} kept refusing this video for {minutes} minutes ({exc.message}); we stopped trying and "
            "returned your credits. Try again later or choose another provider."
        )
    finish_job(
        job,
        to=State.FAILED,
        from_states=[State.SUBMITTING],
        note=f"{reason}: {detail}"[:500],
        error_code=(exc.code or type(exc).__name__)[:100],
        error_message=message,
    )


def refusals_since(job: GenerationJob) -> datetime:
    """When this provider started refusing the job: its first requeue after the last failover (now if none yet).
    Time spent waiting for a free slot does not count; only time spent being refused does."""
    requeues = job.events.filter(from_state=State.SUBMITTING, to_state=State.QUEUED)
    last_failover = requeues.filter(note__startswith="failover").order_by("-at").values_list("at", flat=True).first()
    if last_failover is not None:
        requeues = requeues.filter(at__gt=last_failover)
    first = requeues.exclude(note__startswith="failover").order_by("at").values_list("at", flat=True).first()
    return first or timezone.now()


def past_give_up(job: GenerationJob, *, delay: float) -> bool:
    """True when offering the job again after ``delay`` would pass its give-up time (``submit_give_up_seconds``)."""
    elapsed = timezone.now() + timedelta(seconds=delay) - refusals_since(job)
    return elapsed > timedelta(seconds=config.submit_give_up_seconds())


def give_up_at(job: GenerationJob) -> datetime:
    """When a refused job stops being retried (shown on the job page)."""
    return refusals_since(job) + timedelta(seconds=config.submit_give_up_seconds())
