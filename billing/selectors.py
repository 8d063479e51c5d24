"""Billing reads: wallet history, open holds, usage reports. No writes here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth

from billing.models import Account, Hold, HoldState, LedgerEntry, Wallet
from studio.projects.models import Project

if TYPE_CHECKING:
    from studio.accounts.models import User
    from studio.teams.models import Team


def wallet_history(*, wallet: Wallet) -> QuerySet[LedgerEntry]:
    """Every change to the wallet's balance, newest first."""
    return (
        LedgerEntry.objects.filter(wallet=wallet, account=Account.WALLET)
        .select_related("transaction", "transaction__created_by", "transaction__hold")
        .order_by("-pk")
    )


def open_holds(*, wallet: Wallet) -> QuerySet[Hold]:
    return Hold.objects.filter(wallet=wallet, state=HoldState.OPEN).select_related("user").order_by("-created_at")


@dataclass(frozen=True)
class UsageRow:
    month: datetime
    user_email: str
    project: str
    resolution: str
    audio: bool | None
    provider: str
    jobs: int
    seconds: float
    credits: int


def usage_rows(*, team: Team, user: User | None = None) -> list[UsageRow]:
    """Captured spending in ``team`` by month, user, project, resolution, audio and provider (newest month first).
    With ``user``, only theirs. Derived from the holds' structured usage columns (the ledger's capture metadata).

    The month is the capture's (``resolved_at``, UTC): a job held on the 31st and finished on the 1st is usage of the
    1st's month, when the credits were charged. (Caps and budgets count a hold in the month it was *made*, because
    the hold is what reserves them; see ``wallets.pool_spent_this_month``.)"""
    holds = Hold.objects.filter(team=team, state=HoldState.CAPTURED)
    if user is not None:
        holds = holds.filter(user=user)
    grouped = (
        holds.annotate(month=TruncMonth("resolved_at"))
        .values("month", "user__email", "project_id", "resolution", "audio", "provider")
        .annotate(jobs=Count("pk"), seconds=Sum("billed_seconds"), credits=Sum("captured_amount"))
        .order_by("-month", "user__email", "project_id", "resolution", "audio", "provider")
    )
    rows = list(grouped)
    names = dict(
        Project.objects.filter(team=team, pk__in={r["project_id"] for r in rows if r["project_id"]}).values_list(
            "pk", "name"
        )
    )
    return [
        UsageRow(
            month=r["month"],
            user_email=r["user__email"] or "",
            project=_project_label(names, r["project_id"]),
            resolution=r["resolution"],
            audio=r["audio"],
            provider=r["provider"],
            jobs=r["jobs"],
            seconds=float(r["seconds"] or 0),
            credits=int(r["credits"] or 0),
        )
        for r in rows
    ]


USAGE_CSV_HEADER = ["month", "user", "project", "resolution", "audio", "provider", "jobs", "seconds", "credits"]


def usage_csv_row(row: UsageRow) -> list[str | int]:
    """One usage row as the usage CSV writes it (the page's CSV and the API's share it)."""
    audio = "" if row.audio is None else ("yes" if row.audio else "no")
    return [
        f"{row.month:%Y-%m}",
        row.user_email,
        row.project,
        row.resolution,
        audio,
        row.provider,
        row.jobs,
        f"{row.seconds:g}",
        row.credits,
    ]


def _project_label(names: dict[int, str], project_id: int | None) -> str:
    if project_id is None:
        return "—"
    return names.get(project_id, f"#{project_id}")


@dataclass(frozen=True)
class MonthTotal:
    month: datetime
    credits: int
    seconds: float
    bar_height: int  # for the SVG chart, 0–100
    index: int

    @property
    def x(self) -> int:
        return self.index * 100

    @property
    def bar_y(self) -> int:
        return 110 - self.bar_height

    @property
    def label_y(self) -> int:
        return 105 - self.bar_height


def month_totals(rows: list[UsageRow]) -> list[MonthTotal]:
    """Credits and seconds per month, oldest first, scaled for a bar chart."""
    totals: dict[datetime, tuple[int, float]] = {}
    for row in rows:
        credits, seconds = totals.get(row.month, (0, 0.0))
        totals[row.month] = (credits + row.credits, seconds + row.seconds)
    peak = max((c for c, _ in totals.values()), default=0) or 1
    return [
        MonthTotal(month=month, credits=c, seconds=s, bar_height=round(100 * c / peak), index=i)
        for i, (month, (c, s)) in enumerate(sorted(totals.items()))
    ]
