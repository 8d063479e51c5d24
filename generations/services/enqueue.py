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


Sink = Callable[[Work], None]


def _celery_sink(work: Work) -> None:
    from generations import tasks

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
    enqueue(Work("job_submit", {"job_id": str(job_id)}))


def poll(job_id: object, *, seq: int, countdown: float) -> None:
    enqueue(Work("job_poll", {"job_id": str(job_id), "seq": seq}, countdown))


def finalize(job_id: object, *, countdown: float = 0.0) -> None:
    enqueue(Work("job_finalize", {"job_id": str(job_id)}, countdown))


def dispatch(*, countdown: float = 0.0) -> None:
    """Ask for a ``dispatch_queued`` run: after every change that frees a slot or queues a job."""
    enqueue(Work("dispatch_queued", {}, countdown))
