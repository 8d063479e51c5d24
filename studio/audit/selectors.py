"""Reads of the audit log for its pages: filters shared by the page and its CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import QuerySet
from django.utils import timezone

from studio.audit.models import AuditAction, AuditEvent


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor: str = ""
    team: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_query(cls, query: dict[str, str]) -> AuditFilters:
        def day(value: str) -> date | None:
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                return None

        action = query.get("action", "")
        return cls(
            action=action if action in AuditAction.values else "",
            actor=query.get("actor", "").replace("\x00", "").strip()[:254],
            team=query.get("team", "").replace("\x00", "").strip()[:100],
            since=day(query.get("since", "")),
            until=day(query.get("until", "")),
        )


def audit_rows(*, team_id: int | None, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Rows of one team (``team_id``), or of every team (staff, ``None``), newest first, filtered."""
    rows = AuditEvent.objects.all()
    if team_id is not None:
        rows = rows.filter(team_id=team_id)
    elif filters.team:
        rows = rows.filter(team_label__icontains=filters.team)
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.actor:
        rows = rows.filter(actor_label__icontains=filters.actor)
    tz = timezone.get_current_timezone()
    if filters.since:
        rows = rows.filter(created_at__gte=datetime.combine(filters.since, time.min, tzinfo=tz))
    if filters.until:
        rows = rows.filter(created_at__lte=datetime.combine(filters.until, time.max, tzinfo=tz))
    return rows.order_by("-created_at", "-id")
