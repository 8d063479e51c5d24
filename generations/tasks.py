"""Celery tasks: thin. Each takes ids, calls one service, and retries only transient errors.

Every task here is idempotent (state changes are compare-and-set; the submit claims its one send before sending), so
all of them run with ``acks_late`` + ``reject_on_worker_lost``: a task whose worker died is delivered again, and the
second run either finishes the work or sees it was done. Services enqueue these with ``transaction.on_commit``
(``generations.services.enqueue``). Time limits stay below the broker's visibility timeout (settings.py).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from celery import shared_task
from celery.app.task import Task
from django.db import DatabaseError, InterfaceError

from generations import reconcile, slots
from generations.services import enqueue
from generations.services.finalize import RetryLater, generation_finalize
from generations.services.poll import generation_poll
from generations.services.poll import poll_sweep as poll_sweep_service
from generations.services.submit import generation_submit

#: Database hiccups (a lost connection, a lock timeout) are the only errors a task retries by itself.
TRANSIENT_DB_ERRORS = (DatabaseError, InterfaceError)

_COMMON: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "autoretry_for": TRANSIENT_DB_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="generations.tasks.job_submit", soft_time_limit=150, time_limit=180, **_COMMON)  # type: ignore[untyped-decorator]
def job_submit(job_id: str) -> None:
    enqueue.coalesce_clear(enqueue.submit_coalesce_key(job_id))
    generation_submit(job_id=UUID(job_id))


@shared_task(name="generations.tasks.job_poll", soft_time_limit=90, time_limit=120, **_COMMON)  # type: ignore[untyped-decorator]
def job_poll(job_id: str, seq: int) -> None:
    generation_poll(job_id=UUID(job_id), seq=int(seq))


@shared_task(bind=True, name="generations.tasks.job_finalize", soft_time_limit=900, time_limit=960, **_COMMON)  # type: ignore[untyped-decorator]
def job_finalize(self: Task[Any, Any], job_id: str) -> None:
    try:
        generation_finalize(job_id=UUID(job_id))
    except RetryLater as exc:
        raise self.retry(countdown=exc.delay, max_retries=None) from exc


@shared_task(name="generations.tasks.poll_sweep", soft_time_limit=45, time_limit=55, **_COMMON)  # type: ignore[untyped-decorator]
def poll_sweep() -> None:
    """Claim and poll due jobs (beat starts one every GENERATIONS_POLL_SWEEP_SECONDS; its message expires unread
    after two periods, so a busy poll worker never works through a backlog of sweeps)."""
    poll_sweep_service()


@shared_task(name="generations.tasks.dispatch_queued", soft_time_limit=60, time_limit=90, **_COMMON)  # type: ignore[untyped-decorator]
def dispatch_queued(provider: str = "") -> None:
    enqueue.coalesce_clear(f"dispatch:{provider or '*'}")
    if provider:
        slots.dispatch_provider(provider)
    else:
        slots.dispatch_queued()


@shared_task(name="generations.tasks.reconcile_jobs", soft_time_limit=240, time_limit=300, **_COMMON)  # type: ignore[untyped-decorator]
def reconcile_jobs() -> None:
    reconcile.reconcile_jobs()


@shared_task(name="generations.tasks.zip_export_build", soft_time_limit=1800, time_limit=1860, **_COMMON)  # type: ignore[untyped-decorator]
def zip_export_build(export_id: str) -> None:
    from generations.services.library import zip_export_build as build

    build(export_id=UUID(export_id))
