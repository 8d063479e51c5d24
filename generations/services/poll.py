"""Polling: the provider's answer is the source of truth for a submitted job.

The engine (DESIGN.md §3): every job at the provider carries a due time, ``next_poll_at`` (partial index
``generation_poll_due``). A **sweep** (``poll_sweep``, the ``poll`` queue, started by beat every
``GENERATIONS_POLL_SWEEP_SECONDS``) claims due jobs in batches with one statement,
``UPDATE … WHERE id IN (SELECT … ORDER BY next_poll_at LIMIT n FOR UPDATE SKIP LOCKED) RETURNING id``: the claim moves
each job's due time a lease ahead and bumps ``poll_seq``, so any number of sweeps on any number of machines share the
work and none polls a job another one claimed. On SQLite (no SKIP LOCKED) the same single UPDATE is atomic because
SQLite runs one writer at a time. The batch is polled concurrently on a bounded thread pool over the seam's pooled
httpx client, and the results are written in bulk: one ``bulk_create`` of attempt rows and one guarded UPDATE of the
next due times; only state changes (rare: once or twice per job) go one by one through ``transition``/``finish_job``.

``poll_seq`` keeps writers honest: a claim or a webhook prompt bumps it, and a due-time write is guarded by the value
its poll claimed, so an answer that was overtaken (a webhook fetch, the reconciler) never pushes the job's next poll
back. State changes stay compare-and-set, so two answers about one job still finalize it once.

The schedule (``next_delay``) follows what is known: Retry-After and the provider's floor (DashScope ≥ 5 s); the
expected render time of similar jobs (provider × mode × resolution × duration, from ``render_seconds`` of recent
jobs); one early look halfway to it, then dense polls (``GENERATIONS_POLL_DENSE_SECONDS``, 1 s) from just before the
fastest similar job finished to just after the slowest, then a backoff that grows with the overrun up to
``poll_max_seconds``. Without history it is the plain backoff ``poll_delay``.

A webhook goes straight to one fetch of its job (``generation_poll``, the high-priority ``fetch`` queue).
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from generations.models import GenerationJob, ProviderAttempt
from generations.providers import http
from generations.providers.base import PollResult, ProviderState
from generations.providers.errors import ProviderError, RateLimitedError, TransientError
from generations.providers.registry import get_adapter
from generations.services import config, enqueue
from generations.services.attempts import recording
from generations.services.lifecycle import finish_job
from generations.services.moderation import on_output_flagged
from generations.states import AT_PROVIDER, State, transition

logger = logging.getLogger("generations.poll")


# ---------------------------------------------------------------------------------------------------------------------
# The schedule


def poll_delay(*, provider: str, poll_count: int, retry_after: float | None = None) -> float:
    """The plain backoff (no history): ``base × 2^n`` capped at ``poll_max_seconds``, the provider's floor, and
    Retry-After (honoured up to twice the cap)."""
    base: float = config.poll_base_seconds() * 2.0 ** min(poll_count, 16)
    delay: float = max(min(base, config.poll_max_seconds()), config.provider_min_poll_seconds(provider))
    if retry_after is not None:
        delay = max(delay, min(retry_after, config.poll_max_seconds() * 2))
    return delay


@dataclass(frozen=True)
class Expectation:
    """How long similar jobs took at the provider (seconds from submit to the poll that saw them finished)."""

    fastest: float
    median: float
    slowest: float
    samples: int


#: Similar jobs (provider × mode × resolution × duration) to learn from, and how long a process trusts what it read.
HISTORY_SAMPLES = 50
HISTORY_TTL_SECONDS = 60.0
PRECISE_MARGIN_SECONDS = 2.0
_history: dict[tuple[str, str, str, int], tuple[float, Expectation | None]] = {}
_history_lock = threading.Lock()


def forget_history() -> None:
    """Drop this process's cached expectations (tests; a rate card or provider change)."""
    with _history_lock:
        _history.clear()


def expected_render(*, provider: str, mode: str, resolution: str, duration: int) -> Expectation | None:
    """What recent similar jobs took, or ``None`` before there are any. One indexed query per key per minute."""
    key = (provider, mode, resolution, int(duration))
    now = time.monotonic()
    with _history_lock:
        cached = _history.get(key)
        if cached is not None and now - cached[0] < HISTORY_TTL_SECONDS:
            return cached[1]
    rows = list(
        GenerationJob.objects.filter(
            provider=provider, mode=mode, resolution=resolution, duration=duration, render_seconds__isnull=False
        )
        .order_by("-submitted_at")
        .values_list("render_seconds", "render_margin_seconds")[:HISTORY_SAMPLES]
    )
    # Samples seen by dense polls are precise to about a second; ones seen by the plain backoff may be off by tens
    # of seconds. Once there are a few precise ones, the imprecise ones would only blur the window: drop them.
    precise = [value for value, margin in rows if margin is not None and margin <= PRECISE_MARGIN_SECONDS]
    values = precise if len(precise) >= 3 else [value for value, _ in rows]
    expectation = None
    if values:
        ordered = sorted(float(v) for v in values if v is not None)
        # The 10th/90th percentiles bound the dense window; one outlier does not stretch it.
        low = ordered[int(0.1 * (len(ordered) - 1))]
        high = ordered[round(0.9 * (len(ordered) - 1))]
        expectation = Expectation(
            fastest=low, median=float(statistics.median(ordered)), slowest=high, samples=len(ordered)
        )
    with _history_lock:
        _history[key] = (now, expectation)
    return expectation


def next_delay(
    *,
    provider: str,
    poll_count: int,
    elapsed: float | None,
    expectation: Expectation | None,
    retry_after: float | None = None,
) -> float:
    """Seconds until the next poll of a job ``elapsed`` seconds after its submit, after ``poll_count`` polls."""
    if expectation is None or elapsed is None:
        return poll_delay(provider=provider, poll_count=poll_count, retry_after=retry_after)
    floor = config.provider_min_poll_seconds(provider)
    dense = max(config.poll_dense_seconds(), floor)
    cap = config.poll_max_seconds()
    start = max(0.0, expectation.fastest - dense)  # first dense poll, just before the fastest similar job was seen
    end = expectation.slowest + dense
    if elapsed < start:
        delay = start - elapsed
        if poll_count == 0 and start > 4 * dense:
            delay = max(dense, start / 2)  # one early look: a refusal or an early failure is not left for long
        delay = min(delay, max(cap, dense))
    elif elapsed <= end:
        delay = dense
    else:
        # Late: back off in proportion to the overrun (a job twice as slow as usual is not polled every second).
        delay = min(cap, max(2 * dense, 0.25 * (elapsed - expectation.median)))
    delay = max(delay, floor)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap * 2))
    return delay


def _expectation_for(job: GenerationJob) -> Expectation | None:
    return expected_render(provider=job.provider, mode=job.mode, resolution=job.resolution, duration=job.duration)


def job_next_delay(job: GenerationJob, *, retry_after: float | None = None, now: datetime | None = None) -> float:
    elapsed = ((now or timezone.now()) - job.submitted_at).total_seconds() if job.submitted_at else None
    expectation = expected_render(
        provider=job.provider, mode=job.mode, resolution=job.resolution, duration=job.duration
    )
    return next_delay(
        provider=job.provider,
        poll_count=job.poll_count,
        elapsed=elapsed,
        expectation=expectation,
        retry_after=retry_after,
    )


def first_poll_delay(job: GenerationJob) -> float:
    """Delay of a just-accepted job's first poll."""
    expectation = expected_render(
        provider=job.provider, mode=job.mode, resolution=job.resolution, duration=job.duration
    )
    if expectation is None:
        return config.poll_base_seconds()
    return next_delay(provider=job.provider, poll_count=0, elapsed=0.0, expectation=expectation)


def schedule_polls(due: Iterable[tuple[UUID, int, float]], *, now: datetime | None = None) -> int:
    """Set the next due time of many jobs in one UPDATE: ``(job id, poll_seq it was claimed with, delay)``.

    A row whose ``poll_seq`` moved on (a webhook prompt, the reconciler) keeps the due time its new owner set.

    One ``UPDATE … FROM (VALUES …)`` joined on (id, poll_seq), written as SQL: the ORM's ``Case(When(…))`` per row
    cost more CPU than the status call itself at 20,000 live jobs. ``VALUES`` columns are ``column1…3`` on both
    PostgreSQL and SQLite, and every value is a parameter adapted by the backend.
    """
    rows = list(due)
    if not rows:
        return 0
    base = now or timezone.now()
    ops, pk_field = connection.ops, GenerationJob._meta.pk
    assert pk_field is not None  # noqa: S101 - for the type checker: every model has one
    table = ops.quote_name(GenerationJob._meta.db_table)
    states = _at_provider_sql()
    params: list[Any] = []
    for pk, seq, delay in rows:
        params += [
            pk_field.get_db_prep_value(pk, connection),
            seq,
            ops.adapt_datetimefield_value(base + timedelta(seconds=delay)),
        ]
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    # Only the table name and the state constants are formatted in; every value is a parameter.
    sql = (
        f"UPDATE {table} SET next_poll_at = due.column3 FROM (VALUES {values}) AS due "  # noqa: S608
        f"WHERE {table}.id = due.column1 AND {table}.poll_seq = due.column2 AND {table}.state IN ({states})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def schedule_poll(job: GenerationJob, *, delay: float) -> None:
    """Set ``next_poll_at`` of one job (the sweep picks it up then)."""
    schedule_polls([(job.pk, job.poll_seq, delay)])


def restart_poll_chain(job: GenerationJob, *, delay: float = 0.0) -> None:
    """Poll ``job`` now (a webhook prompt, the reconciler): bump ``poll_seq`` so in-flight answers lose their write,
    make it due, and send one fetch on the high-priority path."""
    GenerationJob.objects.filter(pk=job.pk).update(poll_seq=F("poll_seq") + 1)
    job.refresh_from_db(fields=["poll_seq", "state"])
    if job.state in AT_PROVIDER:
        schedule_poll(job, delay=delay)
        enqueue.poll(job.pk, seq=job.poll_seq, countdown=delay)


# ---------------------------------------------------------------------------------------------------------------------
# One fetch (webhook prompts, the reconciler)


def generation_poll(*, job_id: UUID, seq: int) -> None:
    """Ask the provider about ``job_id`` once and apply the answer. Does nothing if ``seq`` is stale."""
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None or job.state not in AT_PROVIDER or job.poll_seq != seq:
        return
    # Claim this fetch; while the call runs the job is not due for a sweep.
    claimed = GenerationJob.objects.filter(pk=job.pk, poll_seq=seq, state__in=AT_PROVIDER).update(
        poll_seq=seq + 1,
        poll_count=F("poll_count") + 1,
        next_poll_at=timezone.now() + timedelta(seconds=config.poll_lease_seconds()),
    )
    if claimed != 1:
        return
    job.refresh_from_db()
    if _past_horizon(job):
        return
    try:
        with recording(job.pk):
            result: PollResult | ProviderError = get_adapter(job.provider).poll(job.provider_job_id)
    except ProviderError as exc:
        result = exc
    delay = apply_answer(job, result)
    if delay is not None:
        schedule_polls([(job.pk, job.poll_seq, delay)])


# ---------------------------------------------------------------------------------------------------------------------
# The sweep


@dataclass
class SweepReport:
    claimed: int = 0
    polled: int = 0
    changed: int = 0
    batches: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds each claimed job was past its due time

    def add(self, other: SweepReport) -> None:
        self.claimed += other.claimed
        self.polled += other.polled
        self.changed += other.changed
        self.batches += other.batches
        self.lateness.extend(other.lateness)


def _at_provider_sql() -> str:
    """The states of a job at its provider as an SQL list of literals (constants of ours, never input)."""
    return ", ".join(f"'{state}'" for state in sorted(AT_PROVIDER))


def due_sql() -> str:
    """The sweep's pick: due jobs at the provider, oldest due first (parameters: now, limit). Served by the partial
    index ``generation_poll_due`` (asserted with EXPLAIN in tests/generations/test_poll_engine.py)."""
    table = connection.ops.quote_name(GenerationJob._meta.db_table)
    states = _at_provider_sql()
    # Only the table name and the state constants are formatted in; every value is a parameter.
    return (
        f"SELECT id, next_poll_at FROM {table} WHERE state IN ({states}) AND next_poll_at <= %s "  # noqa: S608
        "ORDER BY next_poll_at LIMIT %s"
    )


def claim_due(*, limit: int, now: datetime | None = None) -> list[tuple[UUID, float]]:
    """Claim up to ``limit`` due jobs in one statement (module docstring). Returns ``(job id, seconds past due)``."""
    now = now or timezone.now()
    table = connection.ops.quote_name(GenerationJob._meta.db_table)
    lease = timezone.now() + timedelta(seconds=config.poll_lease_seconds())
    adapt = connection.ops.adapt_datetimefield_value
    pick = due_sql()
    claim = "SET poll_seq = poll_seq + 1, poll_count = poll_count + 1, next_poll_at = %s"
    to_python = GenerationJob._meta.pk.to_python
    due_at: dict[UUID, datetime | None] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.features.has_select_for_update_skip_locked:
            cursor.execute(
                f"WITH due AS ({pick} FOR UPDATE SKIP LOCKED) UPDATE {table} AS job {claim} FROM due "
                "WHERE job.id = due.id RETURNING job.id, due.next_poll_at",
                [adapt(now), limit, adapt(lease)],
            )
            due_at = {to_python(pk): was_due for pk, was_due in cursor.fetchall()}
        else:
            # SQLite: one writer at a time, so the single UPDATE is the claim; its RETURNING cannot name the subquery.
            cursor.execute(pick, [adapt(now), limit])
            seen = {to_python(pk): was_due for pk, was_due in cursor.fetchall()}
            cursor.execute(
                f"UPDATE {table} {claim} WHERE id IN (SELECT id FROM ({pick})) RETURNING id",  # noqa: S608
                [adapt(lease), adapt(now), limit],
            )
            due_at = {to_python(pk): seen.get(to_python(pk)) for (pk,) in cursor.fetchall()}
    real_now = timezone.now()
    claimed: list[tuple[UUID, float]] = []
    for pk, was_due in due_at.items():
        if isinstance(was_due, str):
            was_due = datetime.fromisoformat(was_due)
        if isinstance(was_due, datetime) and timezone.is_naive(was_due):
            was_due = timezone.make_aware(was_due, UTC)
        late = (real_now - was_due).total_seconds() if isinstance(was_due, datetime) else 0.0
        claimed.append((pk, late))
    return claimed


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The process's bounded pool of poll threads (created lazily: after a prefork worker forks)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=config.poll_concurrency(), thread_name_prefix="poll")
        return _executor


@dataclass
class _Fetched:
    job_id: UUID
    answer: PollResult | ProviderError
    exchanges: list[http.Exchange]


def _fetch(job_id: UUID, provider: str, provider_job_id: str) -> _Fetched:
    """One status call, in a pool thread. Touches no database: its exchanges are returned for a bulk insert."""
    exchanges: list[http.Exchange] = []
    answer: PollResult | ProviderError
    try:
        with http.record_exchanges(exchanges.append):
            answer = get_adapter(provider).poll(provider_job_id)
    except ProviderError as exc:
        answer = exc
    except Exception as exc:  # a bug in an adapter must not kill the batch: count it as an unreadable answer
        logger.exception("job %s: unexpected error while polling", job_id)
        answer = ProviderError(f"{type(exc).__name__}: {exc}", provider=provider)
    return _Fetched(job_id=job_id, answer=answer, exchanges=exchanges)


@dataclass
class _Batch:
    """A claimed batch whose status calls are in flight on the pool."""

    report: SweepReport
    jobs: dict[UUID, GenerationJob]
    calls: list[Future[_Fetched]]


def _start_batch(*, limit: int | None, now: datetime | None) -> _Batch:
    """Claim one batch of due jobs and send their status calls to the pool (without waiting for the answers)."""
    report = SweepReport()
    claimed = claim_due(limit=limit or config.poll_batch_size(), now=now)
    if not claimed:
        return _Batch(report=report, jobs={}, calls=[])
    report.batches = 1
    report.claimed = len(claimed)
    report.lateness = [late for _, late in claimed]
    jobs = GenerationJob.objects.in_bulk([pk for pk, _ in claimed])
    pool = _pool()
    calls = [
        pool.submit(_fetch, job.pk, job.provider, job.provider_job_id)
        for job in jobs.values()
        if not _past_horizon(job)
    ]
    return _Batch(report=report, jobs=jobs, calls=calls)


def _finish_batch(batch: _Batch) -> SweepReport:
    """Wait for a batch's answers and write them: attempts and due times in bulk, state changes one by one."""
    report, jobs = batch.report, batch.jobs
    fetched = [call.result() for call in batch.calls]
    report.polled = len(fetched)
    if not fetched:
        return report
    ProviderAttempt.objects.bulk_create(
        [
            ProviderAttempt(
                job_id=item.job_id,
                provider=exchange.provider,
                method=exchange.method[:8],
                path=exchange.path[:300],
                status_code=exchange.status_code,
                latency_ms=max(0, exchange.latency_ms),
                error_class=exchange.error_class[:60],
                is_create=exchange.is_create,
            )
            for item in fetched
            for exchange in item.exchanges
        ]
    )
    due: list[tuple[UUID, int, float]] = []
    clean: list[UUID] = []
    for item in fetched:
        job = jobs[item.job_id]
        state_before = job.state
        delay = apply_answer(job, item.answer, bulk_clean=clean)
        if job.state != state_before:
            report.changed += 1
        if delay is not None:
            due.append((job.pk, job.poll_seq, delay))
    if clean:
        GenerationJob.objects.filter(pk__in=clean, poll_errors__gt=0).update(poll_errors=0)
    schedule_polls(due)
    return report


def poll_batch(*, limit: int | None = None, now: datetime | None = None) -> SweepReport:
    """Claim one batch of due jobs, poll them concurrently, write the answers. Returns what it did."""
    return _finish_batch(_start_batch(limit=limit, now=now))


def poll_sweep(*, time_budget: float | None = None, now: datetime | None = None) -> SweepReport:
    """Poll due jobs batch after batch until none is due or ``time_budget`` seconds have passed.

    Pipelined: the next batch is claimed and its status calls sent before the previous batch's answers are written,
    so the pool's HTTP and this thread's database work overlap instead of taking turns (at 20,000 live jobs the
    turns, not the CPU, were what kept polls late). A batch is only claimed while the budget lasts; every batch
    claimed is finished before the sweep returns.
    """
    budget = config.poll_sweep_budget_seconds() if time_budget is None else time_budget
    started = time.monotonic()
    total = SweepReport()
    in_flight = _start_batch(limit=None, now=now)
    while True:
        more = in_flight.report.claimed > 0 and time.monotonic() - started < budget
        following = _start_batch(limit=None, now=now) if more else None
        total.add(_finish_batch(in_flight))
        if following is None:
            return total
        in_flight = following


# ---------------------------------------------------------------------------------------------------------------------
# Applying an answer


def _past_horizon(job: GenerationJob) -> bool:
    """Expire a job older than the provider's horizon (True if it is past it: do not poll)."""
    if job.submitted_at and timezone.now() - job.submitted_at > timedelta(seconds=config.provider_horizon_seconds()):
        expire_job(job, note="past the provider's horizon")
        return True
    return False


def _not_an_answer_yet(job: GenerationJob, result: PollResult) -> bool:
    """A provider quirk decided by its adapter: an "expired" answer for a job younger than the provider's horizon is
    no answer yet (DashScope's UNKNOWN for a young task id), retried as a poll error, never expired."""
    if result.state != ProviderState.EXPIRED or job.submitted_at is None:
        return False
    young = timezone.now() - job.submitted_at < timedelta(seconds=config.provider_horizon_seconds())
    return young and get_adapter(job.provider).expired_means_not_yet(result)


def apply_answer(
    job: GenerationJob, answer: PollResult | ProviderError, *, bulk_clean: list[UUID] | None = None
) -> float | None:
    """Apply one poll answer (a result or the error it raised). Returns the delay to the next poll, or ``None`` when
    the job needs no more polls. ``bulk_clean`` collects jobs whose error count to reset in one statement."""
    if isinstance(answer, TransientError):
        retry_after = answer.retry_after if isinstance(answer, RateLimitedError) else None
        return job_next_delay(job, retry_after=retry_after)
    if isinstance(answer, ProviderError):
        return _poll_error(job, answer)
    if _not_an_answer_yet(job, answer):  # counts as an error: the count must not be reset below
        return apply_poll_result(job, answer)
    if job.poll_errors:
        if bulk_clean is None:
            GenerationJob.objects.filter(pk=job.pk).update(poll_errors=0)
        else:
            bulk_clean.append(job.pk)
        job.poll_errors = 0
    return apply_poll_result(job, answer)


def _poll_error(job: GenerationJob, exc: ProviderError) -> float | None:
    """An unreadable or refused poll answer: retry with backoff; after too many in a row, fail (hold released)."""
    errors = job.poll_errors + 1
    GenerationJob.objects.filter(pk=job.pk).update(poll_errors=errors)
    job.poll_errors = errors
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
        return None
    return poll_delay(provider=job.provider, poll_count=job.poll_count)


def expire_job(job: GenerationJob, *, note: str) -> bool:
    return finish_job(
        job,
        to=State.EXPIRED,
        from_states=[job.state],
        note=note,
        error_code="expired",
        error_message="The provider no longer knows this job (it is past its retention); your credits were returned.",
    )


def _render_estimate(job: GenerationJob, *, now: datetime) -> tuple[float | None, float | None]:
    """How long the provider took, for the schedule's history, and ± how precisely we know it: the midpoint (and half
    the gap) between the poll before this one (the job was still running then) and now. Not ``now`` itself: a late
    poll would teach the schedule to be late."""
    if job.submitted_at is None:
        return None, None
    polls = ProviderAttempt.objects.filter(job_id=job.pk, is_create=False).order_by("-at")
    previous = polls.values_list("at", flat=True)[1:2].first()
    seen_running = max(previous, job.submitted_at) if previous is not None else job.submitted_at
    low, high = (seen_running - job.submitted_at).total_seconds(), (now - job.submitted_at).total_seconds()
    return (low + high) / 2, (high - low) / 2


def apply_poll_result(job: GenerationJob, result: PollResult) -> float | None:
    """Move the job according to the provider's normalized state; return the next poll's delay while it is still at
    the provider. Out-of-date answers lose the compare-and-set."""
    state = result.state
    if state == ProviderState.QUEUED:
        return job_next_delay(job, retry_after=result.retry_after)
    if state == ProviderState.RUNNING:
        if job.state == State.SUBMITTED:
            transition(job, to=State.RUNNING, from_states=[State.SUBMITTED], note=f"running ({result.raw_status})")
        return job_next_delay(job, retry_after=result.retry_after)
    if state == ProviderState.SUCCEEDED:
        now = timezone.now()
        estimate, margin = _render_estimate(job, now=now)
        expires = now + timedelta(seconds=result.output_url_ttl) if result.output_url_ttl is not None else None
        changed = transition(
            job,
            to=State.DOWNLOADING,
            from_states=[State.SUBMITTED, State.RUNNING],
            note="provider finished; saving the output",
            provider_output_url=result.output_url,
            provider_output_expires_at=expires,
            billed_seconds=result.billed_seconds,
            render_seconds=estimate,
            render_margin_seconds=margin,
            provider_credits=result.provider_credits,
            next_poll_at=None,
        )
        if changed:
            if result.nsfw:
                on_output_flagged(job, verdict=result.error_message or "output flagged NSFW")
            enqueue.finalize(job.pk)
            enqueue.dispatch(provider=job.provider)
        return None
    if state == ProviderState.MODERATED:
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
        if _not_an_answer_yet(job, result):
            return _poll_error(
                job, ProviderError("UNKNOWN status for a young task id", provider=job.provider, code="UNKNOWN")
            )
        expire_job(job, note=f"provider reports the job as gone ({result.raw_status})")
    return None
