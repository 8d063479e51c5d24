"""The job state machine (DESIGN.md §3): the states, the one transition table, and the one writer of ``state``.

Invariants:
- ``TRANSITIONS`` is the whole policy: a change not listed there raises ``IllegalTransition`` before touching the row.
- ``transition`` is a compare-and-set: ``filter(id=…, state=old).update(state=new, …)``. It changes exactly one row
  or none; ``False`` means another worker moved the job first and the caller must not act on the old state.
- Each successful change writes one ``GenerationEvent`` in the same transaction. No other code writes ``state``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

if TYPE_CHECKING:
    from generations.models import GenerationJob


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    QUEUED = "queued", "Queued"
    SUBMITTING = "submitting", "Submitting"
    SUBMITTED = "submitted", "Submitted"
    RUNNING = "running", "Running"
    DOWNLOADING = "downloading", "Saving video"
    SUCCEEDED = "succeeded", "Ready"
    UNKNOWN = "unknown", "Checking with provider"
    FAILED = "failed", "Failed"
    MODERATED = "moderated", "Blocked by moderation"
    EXPIRED = "expired", "Expired"
    CANCELED = "canceled", "Canceled"


TERMINAL: frozenset[str] = frozenset({State.SUCCEEDED, State.FAILED, State.MODERATED, State.EXPIRED, State.CANCELED})
#: States in which the job occupies one of its provider account's concurrency slots (see ``generations.slots``).
IN_FLIGHT: frozenset[str] = frozenset({State.SUBMITTING, State.SUBMITTED, State.RUNNING, State.UNKNOWN})
#: States in which the provider has the job and polling is the source of truth.
AT_PROVIDER: frozenset[str] = frozenset({State.SUBMITTED, State.RUNNING})

TRANSITIONS: dict[str, frozenset[str]] = {
    State.DRAFT: frozenset({State.QUEUED, State.CANCELED, State.FAILED}),
    # queued → queued is not a transition; failover/requeue go submitting → queued.
    State.QUEUED: frozenset({State.SUBMITTING, State.CANCELED, State.FAILED, State.EXPIRED}),
    # submitting → queued only after a definite refusal (NotAccepted): nothing was created at the provider.
    State.SUBMITTING: frozenset(
        {State.SUBMITTED, State.UNKNOWN, State.QUEUED, State.FAILED, State.MODERATED, State.CANCELED}
    ),
    State.SUBMITTED: frozenset(
        {State.RUNNING, State.DOWNLOADING, State.FAILED, State.MODERATED, State.EXPIRED, State.CANCELED}
    ),
    State.RUNNING: frozenset({State.DOWNLOADING, State.FAILED, State.MODERATED, State.EXPIRED, State.CANCELED}),
    State.UNKNOWN: frozenset({State.SUBMITTED, State.FAILED}),
    State.DOWNLOADING: frozenset({State.SUCCEEDED, State.FAILED, State.CANCELED}),
    State.SUCCEEDED: frozenset(),
    State.FAILED: frozenset(),
    State.MODERATED: frozenset(),
    State.EXPIRED: frozenset(),
    State.CANCELED: frozenset(),
}


class IllegalTransition(ValueError):
    """A state change that the table does not allow (a programming error, never a race)."""


def can_transition(old: str, new: str) -> bool:
    return new in TRANSITIONS.get(old, frozenset())


def transition(
    job: GenerationJob,
    *,
    to: str,
    from_states: Iterable[str] | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    actor_id: int | None = None,
    **fields: Any,
) -> bool:
    """Move ``job`` from its current state (or any of ``from_states``) to ``to``, setting ``fields`` too.

    Returns True when this call made the change (then ``job`` is updated in memory, and a ``GenerationEvent`` row
    exists); False when the row was no longer in the expected state. Runs in (or opens) a transaction so the update
    and the event commit together.
    """
    from generations.models import GenerationEvent, GenerationJob

    olds = list(from_states) if from_states is not None else [job.state]
    for old in olds:
        if not can_transition(old, to):
            raise IllegalTransition(f"{old} → {to} is not an allowed job transition")
    now = timezone.now()
    with transaction.atomic():
        # Pick the first expected state the row is actually in; the update itself is the compare-and-set.
        for old in olds:
            changed = GenerationJob.objects.filter(pk=job.pk, state=old).update(state=to, updated_at=now, **fields)
            if changed == 1:
                GenerationEvent.objects.create(
                    job_id=job.pk, from_state=old, to_state=to, note=note[:500], data=data or {}, actor_id=actor_id
                )
                break
        else:
            return False
    job.state = to
    job.updated_at = now
    for name, value in fields.items():
        setattr(job, name, value)
    return True
