"""Provider concurrency slots and fair dispatch of queued jobs.

Invariants:
- A provider account never has more than ``settings.PROVIDERS[name]["CONCURRENCY"]`` of our jobs in flight
  (``states.IN_FLIGHT``: submitting, submitted, running, unknown), across every worker: the in-flight count and the
  queued → submitting claims happen while the account's ``ProviderAccount`` row is locked (``select_for_update`` on
  Postgres; SQLite's IMMEDIATE transactions serialize writers anyway). Our count is an upper bound of the provider's
  (a job the provider finished but we have not polled yet still counts), so we never overshoot.
- Free slots go round-robin: first across teams, then across the members of a team, each time to the one with the
  fewest jobs in flight at this provider, ties broken by who was served least recently; within a user, oldest first.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from generations.models import GenerationJob, ProviderAccount
from generations.services import enqueue
from generations.states import IN_FLIGHT, State, transition

_NEVER = datetime.min.replace(tzinfo=UTC)
_SCAN_LIMIT = 2000


def slot_limit(provider: str) -> int:
    return max(1, int(str(settings.PROVIDERS.get(provider, {}).get("CONCURRENCY") or 1)))


def in_flight(provider: str) -> int:
    return GenerationJob.objects.filter(provider=provider, state__in=IN_FLIGHT).count()


@dataclass
class _Candidate:
    id: UUID
    team_id: int
    creator_id: int


def _counts(provider: str, field: str) -> Counter[int]:
    rows = (
        GenerationJob.objects.filter(provider=provider, state__in=IN_FLIGHT)
        .values(field)
        .annotate(n=Count("pk"))
        .values_list(field, "n")
    )
    return Counter(dict(rows))


def _last_served(provider: str, field: str, ids: Iterable[int]) -> dict[int, datetime]:
    rows = (
        GenerationJob.objects.filter(provider=provider, dispatched_at__isnull=False, **{f"{field}__in": list(ids)})
        .values(field)
        .annotate(last=Max("dispatched_at"))
        .values_list(field, "last")
    )
    return dict(rows)


def pick_fair(provider: str, free: int, *, now: datetime) -> list[UUID]:
    """Up to ``free`` queued job ids for ``provider`` in fair order (see the module docstring)."""
    rows = (
        GenerationJob.objects.filter(provider=provider, state=State.QUEUED)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("queued_at", "created_at")
        .values_list("pk", "team_id", "creator_id")[:_SCAN_LIMIT]
    )
    queues: dict[int, dict[int, list[UUID]]] = {}
    for pk, team_id, creator_id in rows:
        queues.setdefault(team_id, {}).setdefault(creator_id, []).append(pk)
    if not queues:
        return []
    team_load = _counts(provider, "team_id")
    user_load = _counts(provider, "creator_id")
    team_last = _last_served(provider, "team_id", queues)
    user_last = _last_served(provider, "creator_id", itertools.chain.from_iterable(queues.values()))
    order = itertools.count()  # arrival order of the first job in each queue: the final tie-break
    team_first = {team: next(order) for team in queues}
    user_first = {user: next(order) for users in queues.values() for user in users}
    picked: list[UUID] = []
    tick = 0
    while len(picked) < free and queues:
        team = min(queues, key=lambda t: (team_load[t], team_last.get(t, _NEVER), team_first[t]))
        users = queues[team]
        user = min(users, key=lambda u: (user_load[u], user_last.get(u, _NEVER), user_first[u]))
        picked.append(users[user].pop(0))
        tick += 1
        served = now + timedelta(microseconds=tick)
        team_load[team] += 1
        user_load[user] += 1
        team_last[team] = served
        user_last[user] = served
        if not users[user]:
            del users[user]
        if not users:
            del queues[team]
    return picked


def dispatch_provider(provider: str) -> list[UUID]:
    """Claim the provider's free slots for queued jobs (queued → submitting) and enqueue their submits."""
    ProviderAccount.objects.get_or_create(name=provider)
    started: list[UUID] = []
    with transaction.atomic():
        ProviderAccount.objects.select_for_update().get(name=provider)
        free = slot_limit(provider) - in_flight(provider)
        if free <= 0:
            return []
        now = timezone.now()
        picked = pick_fair(provider, free, now=now)
        jobs = GenerationJob.objects.in_bulk(picked)
        for tick, pk in enumerate(picked):
            # Distinct, ordered dispatch times: the next round's "least recently served" tie-break relies on them.
            when = now + timedelta(microseconds=tick)
            if transition(
                jobs[pk], to=State.SUBMITTING, from_states=[State.QUEUED], dispatched_at=when, not_before=None
            ):
                enqueue.submit(pk)
                started.append(pk)
    return started


def dispatch_queued() -> list[UUID]:
    """Fill free slots at every provider that has queued jobs. Safe to run anywhere, any number of times."""
    providers = GenerationJob.objects.filter(state=State.QUEUED).exclude(provider="").values_list("provider", flat=True)
    started: list[UUID] = []
    for provider in sorted(set(providers)):
        started += dispatch_provider(provider)
    return started
