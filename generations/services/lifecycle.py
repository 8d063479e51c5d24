"""Ending a job: the terminal state change and the hold's one resolution, in one transaction.

Invariant: every terminal transition of a job that has a hold goes through ``finish_job``, so "the hold resolves
exactly once" follows from the compare-and-set: only the one call that wins the transition touches the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from django.db import transaction
from django.utils import timezone

from generations.models import GenerationJob
from generations.services import enqueue
from generations.services.moderation import on_job_moderated
from generations.services.money import capture_job_hold, release_job_hold
from generations.states import IN_FLIGHT, TERMINAL, State, transition


def finish_job(
    job: GenerationJob,
    *,
    to: str,
    from_states: Iterable[str],
    note: str,
    money: Literal["release", "capture"] = "release",
    error_code: str = "",
    error_message: str = "",
    actor_id: int | None = None,
    **fields: Any,
) -> bool:
    """Move ``job`` to the terminal state ``to`` and resolve its hold; False if another worker got there first."""
    if to not in TERMINAL:
        raise ValueError(f"{to} is not a terminal state")
    olds = list(from_states)
    frees_slot = any(old in IN_FLIGHT for old in olds)
    with transaction.atomic():
        changed = transition(
            job,
            to=to,
            from_states=olds,
            note=note,
            actor_id=actor_id,
            error_code=error_code[:100],
            error_message=error_message[:2000],
            finished_at=timezone.now(),
            **fields,
        )
        if not changed:
            return False
        if money == "capture":
            charged = capture_job_hold(job=job)
            GenerationJob.objects.filter(pk=job.pk).update(charged_credits=charged)
            job.charged_credits = charged
        else:
            release_job_hold(job=job, reason=f"job {job.pk} {to}: {error_message or note}")
            GenerationJob.objects.filter(pk=job.pk).update(charged_credits=0)
            job.charged_credits = 0
        if to == State.MODERATED:
            transaction.on_commit(lambda: on_job_moderated(job))
        if to in (State.SUCCEEDED, State.FAILED, State.EXPIRED):
            transaction.on_commit(lambda: notify_job_finished(job))
        # The team's outgoing webhooks (generation.succeeded/failed/moderated/canceled): the one call site.
        transaction.on_commit(lambda: _emit_finished(job.pk))
        if frees_slot:
            enqueue.dispatch(provider=job.provider)
    return True


def notify_job_finished(job: GenerationJob) -> None:
    """Tell the job's creator that the video is ready, or that it failed (the bell and /notifications/)."""
    from django.urls import reverse

    from studio.notifications.services import notify

    what = (job.prompt or job.get_mode_display())[:80]
    if job.state == State.SUCCEEDED:
        kind, message = "video_ready", f"Your video is ready: {what}"
    else:
        kind = "video_failed"
        message = f"Your video failed: {what}. {job.error_message[:200] or 'Your credits were returned.'}"
    notify(
        user=job.creator,
        kind=kind,
        message=message[:500],
        url=reverse("generations:job", kwargs={"pk": job.pk}),
        key=f"job:{job.pk}:{job.state}",
    )


def _emit_finished(job_id: object) -> None:
    from studio.webhooks.events import generation_finished

    generation_finished(str(job_id))
