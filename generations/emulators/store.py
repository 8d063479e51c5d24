"""The emulators' state: jobs, uploads, create counters, per-account concurrency. Thread-safe, in memory.

Timelines are a pure function of the emulator clock, so they are deterministic: a job is *queued* for
``queue_seconds`` after creation, then *running* for ``run_seconds`` once it holds a slot of its provider account,
then terminal. ``advance`` replays that against the clock whenever anything looks at the store.

Each (provider, account) keeps its own timeline: a heap of queued jobs by the time they become ready and a heap of
running jobs by the time they end, plus its count of active jobs. ``advance`` pops only what is due, so a poll costs
O(log n) in the jobs that change, not a sort of every job under the lock (which capped the emulator at ~65 polls/s
with thousands of live jobs, below the rates the benchmarks measure).

Concurrency: each (provider, account) has a slot limit (``None`` = unlimited). A job that is ready while every slot
is taken stays queued and starts the moment a slot frees (WaveSpeed's documented behaviour). Providers that refuse
instead of queueing (PixVerse 500044) ask ``active_count`` before creating.

The create counter counts every create request that reached the app, keyed by the ``Idempotency-Key`` header
(the studio's job UUID) or, without one, a hash of the body — so tests can assert "at most one paid create per job".
"""

from __future__ import annotations

import bisect
import enum
import heapq
import itertools
import secrets
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generations.providers.base import Mode


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    MODERATED = "moderated"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


class Outcome(enum.StrEnum):
    """How a job ends once it has run. Set at creation (faults, unreachable inputs)."""

    SUCCEED = "succeed"
    FAIL = "fail"
    MODERATE = "moderate"
    NSFW = "nsfw"  # succeeds, but the output is flagged (WaveSpeed has_nsfw_contents)
    NEVER = "never"  # runs forever, holding its slot
    STUCK_QUEUED = "stuck_queued"  # never leaves the queue and holds no slot
    INPUT_UNREACHABLE = "input_unreachable"  # an input URL could not be fetched: fails at run time


@dataclass
class Job:
    """One generation job at one provider. Provider-specific request details live in ``extra``."""

    id: str
    provider: str
    account: str
    mode: Mode
    model: str
    prompt: str
    resolution: str
    duration: int
    width: int
    height: int
    audio: bool
    created_at: float
    ready_at: float
    aspect_ratio: str | None = None
    images: tuple[bytes, ...] = ()
    seed: int | None = None
    watermark: bool = False
    outcome: Outcome = Outcome.SUCCEED
    error_detail: str = ""
    webhook_url: str = ""
    create_key: str = ""
    poll_faults: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    state: JobState = JobState.QUEUED
    started_at: float | None = None
    finished_at: float | None = None
    notified: bool = False

    @property
    def nsfw(self) -> bool:
        return self.outcome is Outcome.NSFW


@dataclass(frozen=True)
class Upload:
    id: str
    data: bytes
    content_type: str
    filename: str


@dataclass
class CreateCount:
    calls: int = 0
    accepted: int = 0
    job_ids: list[str] = field(default_factory=list)


class Clock:
    """Wall time plus an offset tests can move forward (``POST /_control/clock``)."""

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self.offset = 0.0

    def now(self) -> float:
        return self._source() + self.offset


@dataclass
class _Timeline:
    """One (provider, account)'s live jobs: ``ready``, a heap of queued jobs that will start (by ready time, then
    creation), ``ending``, a heap of running jobs that will end (by start time: every job runs ``run_seconds``, read
    when the replay runs, as before), and counts."""

    ready: list[tuple[float, float, int, int, Job]] = field(default_factory=list)
    ending: list[tuple[float, int, Job]] = field(default_factory=list)  # keyed by start: end = start + run_seconds
    running: int = 0  # running jobs, including the ones that never end
    active: int = 0  # queued + running (what PixVerse's "concurrency full" counts)


class JobStore:
    """All mutable emulator state behind one re-entrant lock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self.jobs: dict[tuple[str, str], Job] = {}
        self.uploads: dict[str, Upload] = {}
        self.creates: defaultdict[str, CreateCount] = defaultdict(CreateCount)
        self.used_trace_ids: set[tuple[str, str]] = set()
        self.query_times: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
        self.misc: Counter[str] = Counter()
        self._limits: dict[str, int | None] = {}
        self._run_seconds = 0.0
        self._timelines: defaultdict[tuple[str, str], _Timeline] = defaultdict(_Timeline)
        self._ticket = itertools.count()

    def reset(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.uploads.clear()
            self.creates.clear()
            self.used_trace_ids.clear()
            self.query_times.clear()
            self.misc.clear()
            self._timelines.clear()

    # ------------------------------------------------------------------ ids

    def next_sequence(self) -> int:
        with self.lock:
            return next(self._ids)

    # ------------------------------------------------------------------ create counter

    def count_create(self, key: str) -> None:
        with self.lock:
            self.creates[key].calls += 1

    def count_accepted(self, key: str, job_id: str) -> None:
        with self.lock:
            entry = self.creates[key]
            entry.accepted += 1
            entry.job_ids.append(job_id)

    def create_summary(self, key: str | None = None) -> dict[str, Any]:
        with self.lock:
            if key is not None:
                entry = self.creates.get(key, CreateCount())
                return {"key": key, "count": entry.calls, "accepted": entry.accepted, "job_ids": list(entry.job_ids)}
            return {
                "total": sum(entry.calls for entry in self.creates.values()),
                "accepted": sum(entry.accepted for entry in self.creates.values()),
                "by_key": {k: {"count": v.calls, "accepted": v.accepted} for k, v in self.creates.items()},
            }

    # ------------------------------------------------------------------ uploads

    def add_upload(self, data: bytes, content_type: str, filename: str, upload_id: str | None = None) -> Upload:
        upload = Upload(id=upload_id or uuid.uuid4().hex, data=data, content_type=content_type, filename=filename)
        with self.lock:
            self.uploads[upload.id] = upload
        return upload

    def get_upload(self, upload_id: str) -> Upload | None:
        with self.lock:
            return self.uploads.get(upload_id)

    # ------------------------------------------------------------------ jobs

    def add_job(self, job: Job) -> Job:
        with self.lock:
            self.jobs[(job.provider, job.id)] = job
            timeline = self._timelines[(job.provider, job.account)]
            if job.state is JobState.QUEUED:
                timeline.active += 1
                if job.outcome is not Outcome.STUCK_QUEUED:  # never leaves the queue: never on the ready heap
                    entry = (job.ready_at, job.created_at, job.extra.get("sequence", 0), next(self._ticket), job)
                    heapq.heappush(timeline.ready, entry)
            elif job.state is JobState.RUNNING:
                timeline.active += 1
                timeline.running += 1
                self._schedule_end(timeline, job)
        return job

    def get_job(self, provider: str, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get((provider, job_id))

    def active_count(self, provider: str, account: str) -> int:
        """Jobs of the account that are not terminal (queued or running)."""
        with self.lock:
            timeline = self._timelines.get((provider, account))
            return timeline.active if timeline is not None else 0

    def cancel(self, job: Job) -> bool:
        """Cancel a job that is still queued. True if it was. (Its heap entry is skipped when it comes up.)"""
        with self.lock:
            self.advance()
            if job.state is not JobState.QUEUED:
                return False
            job.state = JobState.CANCELED
            job.finished_at = self.clock.now()
            self._timelines[(job.provider, job.account)].active -= 1
            return True

    def advance(self, limits: dict[str, int | None] | None = None, run_seconds: float | None = None) -> list[Job]:
        """Replay every account's timeline up to now. Return the jobs that became terminal in this call.

        ``limits``/``run_seconds`` default to what the app last configured (``configure``).
        """
        limits = self._limits if limits is None else limits
        run = self._run_seconds if run_seconds is None else run_seconds
        now = self.clock.now()
        finished: list[Job] = []
        with self.lock:
            for (provider, _account), timeline in self._timelines.items():
                if (timeline.ready and timeline.ready[0][0] <= now) or (
                    timeline.ending and timeline.ending[0][0] + run <= now
                ):
                    finished.extend(self._advance_timeline(timeline, limits.get(provider), run, now))
        return finished

    def configure(self, *, limits: dict[str, int | None], run_seconds: float) -> None:
        with self.lock:
            self._limits = dict(limits)
            self._run_seconds = run_seconds

    def _schedule_end(self, timeline: _Timeline, job: Job) -> None:
        if job.outcome is not Outcome.NEVER and job.started_at is not None:
            heapq.heappush(timeline.ending, (job.started_at, next(self._ticket), job))

    def _advance_timeline(self, timeline: _Timeline, limit: int | None, run: float, now: float) -> list[Job]:
        """Finish what has ended, start what is ready while slots are free, until nothing changes (a job started
        in this replay may end in it too). A slot freed in this replay is taken at the moment it freed."""
        finished: list[Job] = []
        free_since: list[float] = []  # when each slot freed up in this replay, earliest first
        while True:
            changed = False
            while timeline.ending and timeline.ending[0][0] + run <= now:
                started, _, job = heapq.heappop(timeline.ending)
                if job.state is not JobState.RUNNING:
                    continue
                end = started + run
                _finish(job, end)
                timeline.running -= 1
                timeline.active -= 1
                finished.append(job)
                bisect.insort(free_since, end)
                changed = True
            free = None if limit is None else limit - timeline.running
            # Slots free before this replay started are free "since forever".
            while free is not None and len(free_since) < free:
                free_since.insert(0, float("-inf"))
            while timeline.ready and timeline.ready[0][0] <= now:
                if free is not None and free <= 0:
                    break
                job = heapq.heappop(timeline.ready)[-1]
                if job.state is not JobState.QUEUED:
                    continue  # canceled while it waited
                if free is not None:
                    free -= 1
                    slot_time = free_since.pop(0) if free_since else float("-inf")
                else:
                    slot_time = float("-inf")
                job.state = JobState.RUNNING
                job.started_at = max(job.ready_at, slot_time)
                timeline.running += 1
                self._schedule_end(timeline, job)
                changed = True
            if not changed:
                return finished


def _finish(job: Job, at: float) -> None:
    job.finished_at = at
    if job.outcome in (Outcome.SUCCEED, Outcome.NSFW):
        job.state = JobState.SUCCEEDED
    elif job.outcome is Outcome.MODERATE:
        job.state = JobState.MODERATED
    else:
        job.state = JobState.FAILED


def new_id() -> str:
    """A provider-style opaque id (hex)."""
    return secrets.token_hex(16)
