"""The audit log's pages: a team's rows for its owners and admins (``/audit/teams/<id>/``), every row for staff
(``/audit/``), each with filters and a CSV export of exactly what the filters show."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from studio.audit.models import AuditAction, AuditEvent
from studio.audit.selectors import AuditFilters, audit_rows
from studio.teams import access
from studio.teams.access import Perm

CSV_COLUMNS = ("time", "action", "actor", "team", "target_type", "target_id", "target", "ip", "reason", "data")


def _page(request: HttpRequest, *, team: Any, rows: Any, filters: AuditFilters) -> HttpResponse:
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/log.html",
        {
            "team": team,
            "page": page,
            "filters": filters,
            "actions": AuditAction.choices,
            "query": query.urlencode(),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(rows: Any, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        event: AuditEvent
        for event in rows.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    event.created_at.isoformat(),
                    event.action,
                    event.actor_label,
                    event.team_label,
                    event.target_type,
                    event.target_id,
                    _cell(event.target_label),
                    event.ip or "",
                    _cell(event.reason),
                    _cell(str(event.data or "")),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; a leading quote keeps them text (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@login_required
@require_GET
def team_log(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = access.require_membership(request.user, team_id, Perm.MANAGE_MEMBERS)
    filters = AuditFilters.from_query(request.GET.dict())
    return _page(request, team=membership.team, rows=audit_rows(team_id=team_id, filters=filters), filters=filters)


@login_required
@require_GET
def team_log_csv(request: HttpRequest, team_id: int) -> StreamingHttpResponse:
    membership = access.require_membership(request.user, team_id, Perm.MANAGE_MEMBERS)
    filters = AuditFilters.from_query(request.GET.dict())
    return _csv(audit_rows(team_id=team_id, filters=filters), f"audit-{membership.team.slug}.csv")


@login_required
@require_GET
def staff_log(request: HttpRequest) -> HttpResponse:
    access.require_staff(request.user)
    filters = AuditFilters.from_query(request.GET.dict())
    return _page(request, team=None, rows=audit_rows(team_id=None, filters=filters), filters=filters)


@login_required
@require_GET
def staff_log_csv(request: HttpRequest) -> StreamingHttpResponse:
    access.require_staff(request.user)
    filters = AuditFilters.from_query(request.GET.dict())
    return _csv(audit_rows(team_id=None, filters=filters), "audit-all.csv")
