"""Reads for the review pages (staff only; the views check that through ``studio.teams.access.require_staff``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from studio.moderation.models import UNDECIDED, Case, CaseState, Strike

STATE_FILTERS = {
    "open": "Open (incl. appeals)",
    "appeals": "Appeals",
    "decided": "Decided",
    "all": "All",
}
AGE_FILTERS = {"": "Any age", "1h": "Older than 1 hour", "24h": "Older than 24 hours", "7d": "Older than 7 days"}
_AGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}


def open_case_count() -> int:
    return Case.objects.filter(state__in=UNDECIDED).count()


def queue_cases(
    *, source: str = "", team: str = "", provider: str = "", state: str = "open", age: str = ""
) -> QuerySet[Case]:
    """The review queue: by score (sum of signal weights), then oldest first."""
    cases = Case.objects.select_related("job", "asset", "team", "creator", "claimed_by").prefetch_related("signals")
    if state == "open":
        cases = cases.filter(state__in=UNDECIDED)
    elif state == "appeals":
        cases = cases.filter(state=CaseState.APPEALED)
    elif state == "decided":
        cases = cases.exclude(state__in=UNDECIDED)
    if source:
        cases = cases.filter(signals__source=source).distinct()
    if team:
        cases = cases.filter(Q(team__name__icontains=team) | Q(team__slug__iexact=team))
    if provider:
        cases = cases.filter(provider=provider)
    if age in _AGES:
        cases = cases.filter(created_at__lte=timezone.now() - _AGES[age])
    return cases.order_by("-score", "created_at", "pk")


def creator_record(case: Case) -> dict[str, Any]:
    """The creator's other cases and strikes (for the reviewer; this case's own strike is not "their record")."""
    if case.creator_id is None:
        return {"cases": Case.objects.none(), "strikes": Strike.objects.none(), "active_strikes": 0}
    cases = Case.objects.filter(creator_id=case.creator_id).exclude(pk=case.pk).select_related("job")[:20]
    strikes = Strike.objects.filter(user_id=case.creator_id).exclude(case=case).select_related("case")
    return {
        "cases": cases,
        "strikes": strikes[:20],
        "active_strikes": strikes.filter(overturned_at__isnull=True).count(),
    }
