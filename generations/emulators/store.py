"""The emulators' state: jobs, uploads, create counters, per-account concurrency. Thread-safe, in memory.

Timelines are a pure function of the emulator clock, so they are deterministic: a job is *queued* for
``queue_seconds`` after creation, then *running* for ``run_seconds`` once it holds a slot of its provider account,
then terminal. ``advance`` replays that against the clock whenever anything looks at the store.

Concurrency: each (provider, account) has a slot limit (``None`` = unlimited). A job that is ready while every slot
is taken stays queued and starts the moment a slot frees (WaveSpeed's documented behaviour). Providers that refuse
instead of queueing (PixVerse 500044) ask ``active_count`` before creating.

The create counter counts every create request that reached the app, keyed by the ``Idempotency-Key`` header
(the studio's job UUID) or, without one, a hash of the body — so tests can assert "at most one paid create per job".
"""

from __future__ import annotations

import enum
import itertools
import secrets
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
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

    def reset(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.uploads.clear()
            self.creates.clear()
            self.used_trace_ids.clear()
            self.query_times.clear()
            self.misc.clear()

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
        return job

    def get_job(self, provider: str, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get((provider, job_id))

    def active_count(self, provider: str, account: str) -> int:
        """Jobs of the account that are not terminal (queued or running)."""
        with self.lock:
            return sum(
                1
                for job in self.jobs.values()
                if job.provider == provider and job.account == account and not job.state.is_terminal
            )

    def cancel(self, job: Job) -> bool:
        """Cancel a job that is still queued. True if it was."""
        with self.lock:
            self.advance()
            if job.state is not JobState.QUEUED:
                return False
            job.state = JobState.CANCELED
            job.finished_at = self.clock.now()
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
            accounts: defaultdict[tuple[str, str], list[Job]] = defaultdict(list)
            for job in self.jobs.values():
                if not job.state.is_terminal:
                    accounts[(job.provider, job.account)].append(job)
            for (provider, _account), jobs in accounts.items():
                finished.extend(self._advance_account(jobs, limits.get(provider), run, now))
        return finished

    def configure(self, *, limits: dict[str, int | None], run_seconds: float) -> None:
        with self.lock:
            self._limits = dict(limits)
            self._run_seconds = run_seconds

    @staticmethod
    def _advance_account(jobs: list[Job], limit: int | None, run: float, now: float) -> Iterable[Job]:
        jobs.sort(key=lambda job: (job.created_at, job.extra.get("sequence", 0)))
        finished: list[Job] = []
        free_since: list[float] = []  # when each slot freed up in this replay
        while True:
            changed = False
            for job in jobs:
                if job.state is JobState.RUNNING and job.outcome is not Outcome.NEVER and job.started_at is not None:
                    end = job.started_at + run
                    if end <= now:
                        _finish(job, end)
                        finished.append(job)
                        free_since.append(end)
                        changed = True
            running = sum(1 for job in jobs if job.state is JobState.RUNNING)
            free = None if limit is None else limit - running
            free_since.sort()
            # Slots free before this replay started are free "since forever".
            while free is not None and len(free_since) < free:
                free_since.insert(0, float("-inf"))
            for job in jobs:
                if job.state is not JobState.QUEUED or job.outcome is Outcome.STUCK_QUEUED or job.ready_at > now:
                    continue
                if free is not None:
                    if free <= 0:
                        break
                    free -= 1
                    slot_time = free_since.pop(0) if free_since else float("-inf")
                else:
                    slot_time = float("-inf")
                job.state = JobState.RUNNING
                job.started_at = max(job.ready_at, slot_time)
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
