"""How services ask for follow-up work: always after the current transaction commits (``transaction.on_commit``).

Services never import ``generations.tasks`` directly (tasks import services). The default sink sends the Celery task;
in-process tests install a recording sink (``use_sink``) and run the recorded work themselves, so the whole pipeline
runs without a broker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction


@dataclass(frozen=True)
class Work:
    """One piece of follow-up work: a task name (``generations.tasks.<name>``), its kwargs, and a delay in seconds."""

    task: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    countdown: float = 0.0
    #: Work with the same key is sent once until the task that runs it calls ``coalesce_clear`` (dispatch, submit),
    #: or until the mark expires after ``coalesce_ttl`` seconds (``COALESCE_TTL_SECONDS`` if 0).
    coalesce: str = ""
    coalesce_ttl: float = 0.0


Sink = Callable[[Work], None]


#: How long a coalesced piece of work stays "pending" if its task never runs (a lost message): beat's own dispatch
#: runs every 15 s, so a lost one delays nothing for long.
COALESCE_TTL_SECONDS = 30


def _coalesce_key(key: str) -> str:
    return f"generations:pending:{key}"


def coalesce_claim(key: str, *, ttl: float = 0.0) -> bool:
    """True if no work with ``key`` is pending (and mark it pending for ``ttl`` seconds); False if one already is.
    Fails open."""
    from django.core.cache import cache

    try:
        return bool(cache.add(_coalesce_key(key), 1, timeout=max(1, round(ttl or COALESCE_TTL_SECONDS))))
    except Exception:  # the cache is an optimisation here; sending twice is harmless
        return True


def coalesce_clear(key: str) -> None:
    """Called by the task as it starts: anything that changes after this point asks for a new run."""
    from django.core.cache import cache

    with contextlib.suppress(Exception):  # an unreachable cache only means the mark expires by itself
        cache.delete(_coalesce_key(key))


def _celery_sink(work: Work) -> None:
    from generations import tasks

    if work.coalesce and not work.countdown and not coalesce_claim(work.coalesce, ttl=work.coalesce_ttl):
        return
    task = getattr(tasks, work.task)
    task.apply_async(kwargs=work.kwargs, countdown=max(0.0, work.countdown) or None)


_sinks: list[tuple[Sink, bool]] = [(_celery_sink, False)]


@contextlib.contextmanager
def use_sink(sink: Sink, *, immediate: bool = False) -> Iterator[None]:
    """Send follow-up work to ``sink`` instead of Celery for the block (tests).

    ``immediate`` hands work over at once instead of on commit: for tests that run inside one never-committed
    transaction. Safe there because every service re-checks the job's state before acting.
    """
    _sinks.append((sink, immediate))
    try:
        yield
    finally:
        _sinks.pop()


def enqueue(work: Work) -> None:
    """Hand ``work`` to the current sink once the surrounding transaction commits (at once outside a transaction)."""
    sink, immediate = _sinks[-1]
    if immediate:
        sink(work)
    else:
        transaction.on_commit(lambda: sink(work))


def submit(job_id: object) -> None:
    """Ask for the job's ``job_submit`` run. Coalesced per job: while one is pending, asking again sends nothing, so
    the reconciler's resend of a submit that looks lost (``generations.reconcile``) cannot pile up copies behind a
    slow queue, each a no-op that delays every other job's submit. The mark lasts the reconciler's own patience
    (``stuck_seconds``): a resend that was itself lost is sent again after that."""
    from generations.services import config

    key = submit_coalesce_key(job_id)
    enqueue(Work("job_submit", {"job_id": str(job_id)}, coalesce=key, coalesce_ttl=config.stuck_seconds()))


def submit_coalesce_key(job_id: object) -> str:
    return f"submit:{job_id}"


def poll(job_id: object, *, seq: int, countdown: float = 0.0) -> None:
    """One fetch of one job now (a webhook prompt, the reconciler): the high-priority ``fetch`` queue. Scheduled
    polls are not tasks: they are due times the sweep claims (``generations.services.poll``)."""
    enqueue(Work("job_poll", {"job_id": str(job_id), "seq": seq}, countdown))


def finalize(job_id: object, *, countdown: float = 0.0) -> None:
    enqueue(Work("job_finalize", {"job_id": str(job_id)}, countdown))


def dispatch(*, provider: str = "", countdown: float = 0.0) -> None:
    """Ask for a ``dispatch_queued`` run (of one provider, or all): after every change that frees a slot or queues a
    job. Coalesced: while one run per provider is pending, asking again sends nothing (a burst of 5,000 creates is
    one task, not 5,000); the run clears the mark before it reads the queue, so nothing asked after it is missed."""
    kwargs = {"provider": provider} if provider else {}
    enqueue(Work("dispatch_queued", kwargs, countdown, coalesce=f"dispatch:{provider or '*'}"))
