"""The reconciler (beat, every minute): finds jobs the event-driven path lost and puts them back on track.

Each check is a compare-and-set or an idempotent re-enqueue, so overlapping runs (or a run racing a worker) are
harmless. What it never does: resubmit a create.

``unknown`` jobs (a create was sent, no provider id came back) — the policy:
1. Ask the provider (``ProviderAdapter.find_created``). DashScope (its task list) and WaveSpeed (its prediction list,
   ``POST /api/v3/predictions``) can be asked: filtered by model and a time window around the send, matched on the
   prompt. None of the four APIs can look a job up by our idempotency key, and PixVerse and HighwayAPI list nothing,
   so for them the answer is "cannot tell".
2. Exactly one candidate that no other job of ours claims, and no other ``unknown`` job that could be its twin (same
   provider, mode and prompt, sent within the same window) → ``submitted``, and polling takes over.
   Anything else is not a match: several candidates, or a lookup that failed, never resolve a job by guesswork.
3. Not resolved after ``unknown_grace_seconds`` → ``failed`` with the hold released: the user is never charged for a
   video we cannot confirm. If the provider did create (and bill) it, that cost is the studio's, and the output is
   never fetched. A lookup that keeps failing only stops us waiting at the provider's horizon (24 h).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from billing.models import HoldState
from generations.models import GenerationJob
from generations.providers.errors import ProviderError
from generations.providers.registry import get_adapter
from generations.services import config, enqueue
from generations.services.attempts import recording
from generations.services.lifecycle import finish_job
from generations.services.poll import expire_job, restart_poll_chain
from generations.services.requests import spec_for_job
from generations.services.specs import MissingInput
from generations.services.submit import mark_unknown
from generations.slots import dispatch_queued
from generations.states import AT_PROVIDER, TERMINAL, State, transition

if TYPE_CHECKING:
    from billing.models import Hold

logger = logging.getLogger("generations.reconcile")


@dataclass
class ReconcileReport:
    polls_restarted: list[str] = field(default_factory=list)
    submits_resent: list[str] = field(default_factory=list)
    interrupted_submits: list[str] = field(default_factory=list)
    unknown_resolved: list[str] = field(default_factory=list)
    unknown_failed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    finalizes_restarted: list[str] = field(default_factory=list)
    downloads_failed: list[str] = field(default_factory=list)
    open_holds_on_finished_jobs: list[str] = field(default_factory=list)
    dispatched: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {name: list(value) for name, value in self.__dict__.items()}


def reconcile_jobs() -> ReconcileReport:
    """Run every check once and report what was done (also logged)."""
    report = ReconcileReport()
    now = timezone.now()
    stuck = now - timedelta(seconds=config.stuck_seconds())
    _overdue_polls(report, stuck=stuck)
    _stuck_submits(report, stuck=stuck)
    _unknown_jobs(report, now=now)
    _past_horizon(report, now=now)
    _stuck_downloads(report, stuck=stuck)
    _open_holds(report)
    report.dispatched = [str(pk) for pk in dispatch_queued()]
    if any(report.as_dict().values()):
        logger.info("reconcile: %s", {k: len(v) for k, v in report.as_dict().items() if v})
    return report


def _overdue_polls(report: ReconcileReport, *, stuck: datetime) -> None:
    """Jobs at the provider whose next poll is long overdue (lost task, dead worker): start a new poll chain."""
    overdue = GenerationJob.objects.filter(state__in=AT_PROVIDER).filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lt=stuck)
    )
    for job in overdue:
        restart_poll_chain(job)
        report.polls_restarted.append(str(job.pk))


def _stuck_submits(report: ReconcileReport, *, stuck: datetime) -> None:
    for job in GenerationJob.objects.filter(state=State.SUBMITTING, dispatched_at__lt=stuck):
        if job.submit_sent_at is None:
            # The submit task was lost before it claimed the send: sending is still safe (the claim guards it).
            enqueue.submit(job.pk)
            report.submits_resent.append(str(job.pk))
        elif job.submit_sent_at < stuck and mark_unknown(
            job,
            code="interrupted_submit",
            detail="",
            note="submit interrupted after the send was claimed; reconcile, never resend",
        ):
            report.interrupted_submits.append(str(job.pk))


def _unknown_jobs(report: ReconcileReport, *, now: datetime) -> None:
    grace = now - timedelta(seconds=config.unknown_grace_seconds())
    horizon = now - timedelta(seconds=config.provider_horizon_seconds())
    for job in GenerationJob.objects.filter(state=State.UNKNOWN):
        provider_job_id = job.provider_job_id or _look_up(job)
        if provider_job_id:
            if transition(
                job,
                to=State.SUBMITTED,
                from_states=[State.UNKNOWN],
                note=f"the provider knows the job as {provider_job_id}",
                provider_job_id=provider_job_id,
                submitted_at=job.submit_sent_at or now,
                next_poll_at=now,
                error_code="",
                error_message="",
            ):
                restart_poll_chain(job)
                report.unknown_resolved.append(str(job.pk))
            continue
        since = job.submit_sent_at or job.updated_at
        if provider_job_id is None and since >= horizon:
            continue  # the provider could not be asked this time; ask again next run
        if since < grace and finish_job(
            job,
            to=State.FAILED,
            from_states=[State.UNKNOWN],
            note="no provider id after the grace period; never resubmitted",
            error_code="unconfirmed_submit",
            error_message=(
                f"{job.provider} never confirmed this job, so we stopped waiting. Your credits were returned; "
                "use Re-run to try again."
            ),
        ):
            report.unknown_failed.append(str(job.pk))


#: Two ``unknown`` jobs sent this close together with the same prompt cannot be told apart by a provider's list.
TWIN_WINDOW = timedelta(minutes=15)


def _look_up(job: GenerationJob) -> str | None:
    """The provider's id for ``job``'s ambiguous create: "" when the provider has no match or cannot be asked;
    ``None`` when asking failed (try again later). Never resolves an ambiguous answer (module docstring)."""
    if job.submit_sent_at is None:
        return ""
    adapter = get_adapter(job.provider)
    try:
        spec = spec_for_job(job)
        with recording(job.pk):
            candidates = adapter.find_created(spec, sent_at=job.submit_sent_at)
    except MissingInput:
        return ""
    except ProviderError as exc:
        logger.warning("job %s: looking up its create at %s failed: %s", job.pk, job.provider, exc)
        return None
    if candidates is None:
        return ""  # this provider cannot be asked
    claimed = set(
        GenerationJob.objects.filter(provider=job.provider, provider_job_id__in=candidates).values_list(
            "provider_job_id", flat=True
        )
    )
    free = [candidate for candidate in candidates if candidate not in claimed]
    twins = (
        GenerationJob.objects.filter(
            provider=job.provider,
            state=State.UNKNOWN,
            mode=job.mode,
            prompt=job.prompt,
            submit_sent_at__gte=job.submit_sent_at - TWIN_WINDOW,
            submit_sent_at__lte=job.submit_sent_at + TWIN_WINDOW,
        )
        .exclude(pk=job.pk)
        .exists()
    )
    if len(free) == 1 and not twins:
        return free[0]
    if free:
        logger.warning(
            "job %s: %d possible creates at %s (twins: %s); not guessing", job.pk, len(free), job.provider, twins
        )
    return ""


def _past_horizon(report: ReconcileReport, *, now: datetime) -> None:
    provider_cutoff = now - timedelta(seconds=config.provider_horizon_seconds())
    for job in GenerationJob.objects.filter(state__in=AT_PROVIDER, submitted_at__lt=provider_cutoff):
        if expire_job(job, note="past the provider's horizon"):
            report.expired.append(str(job.pk))
    queue_cutoff = now - timedelta(seconds=config.queue_horizon_seconds())
    for job in GenerationJob.objects.filter(state=State.QUEUED, queued_at__lt=queue_cutoff):
        if finish_job(
            job,
            to=State.EXPIRED,
            from_states=[State.QUEUED],
            note="waited in the queue past the horizon",
            error_code="queue_expired",
            error_message="No provider could take this job in time. Your credits were returned.",
        ):
            report.expired.append(str(job.pk))


def _stuck_downloads(report: ReconcileReport, *, stuck: datetime) -> None:
    for job in GenerationJob.objects.filter(state=State.DOWNLOADING, updated_at__lt=stuck):
        if job.finalize_attempts >= config.max_finalize_attempts():
            if finish_job(
                job,
                to=State.FAILED,
                from_states=[State.DOWNLOADING],
                note="output could not be saved after repeated attempts",
                error_code="download_failed",
                error_message="The video could not be saved from the provider. Your credits were returned.",
            ):
                report.downloads_failed.append(str(job.pk))
            continue
        GenerationJob.objects.filter(pk=job.pk, state=State.DOWNLOADING).update(updated_at=timezone.now())
        enqueue.finalize(job.pk)
        report.finalizes_restarted.append(str(job.pk))


def _open_holds(report: ReconcileReport) -> None:
    """Finished jobs whose hold is still open: a broken invariant. Logged as errors and reported, not auto-fixed."""
    recent = timezone.now() - timedelta(days=7)
    rows = GenerationJob.objects.filter(
        state__in=TERMINAL, hold__state=HoldState.OPEN, finished_at__gte=recent
    ).values_list("pk", flat=True)
    for pk in rows:
        logger.error("job %s is finished but its hold is still open", pk)
        report.open_holds_on_finished_jobs.append(str(pk))


def hold_job_finished(hold: Hold) -> bool | None:
    """For ``billing.reconcile``: True if the hold's job is finished, False if not, None if no such job."""
    state = GenerationJob.objects.filter(hold=hold).values_list("state", flat=True).first()
    if state is None:
        return None
    return state in TERMINAL
