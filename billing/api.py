"""API: the wallet that pays for the token's jobs in its team (balance, open holds, caps), its history, and usage by
month/user/project (the usage page's rows; ``?format=csv`` gives the page's CSV)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from billing.models import Wallet
from billing.selectors import USAGE_CSV_HEADER, open_holds, usage_csv_row, usage_rows, wallet_history
from billing.wallets import cap_status, personal_wallet, team_uses_pool, team_wallet, wallet_for_spending
from studio.apikit import ApiError, errors, team_of, token_of
from studio.teams import access
from studio.teams.access import Perm

router = Router()


class HoldOut(Schema):
    id: int
    generation_id: str
    amount: int
    description: str
    user: str | None
    created_at: datetime


class CapsOut(Schema):
    member_cap: int | None
    member_spent: int
    budget: int | None
    team_spent: int
    remaining: int | None


class WalletOut(Schema):
    id: int
    label: str
    kind: Literal["personal", "pool"]
    balance: int
    held: int
    debt: int
    frozen: bool
    pays_for_new_jobs: bool
    caps: CapsOut | None
    holds: list[HoldOut]


class EntryOut(Schema):
    id: int
    amount: int
    kind: str
    description: str
    generation_id: str | None
    created_at: datetime


class HistoryPage(Schema):
    items: list[EntryOut]
    next_cursor: str | None


class UsageRowOut(Schema):
    month: str
    user: str
    project: str
    resolution: str
    audio: bool | None
    provider: str
    jobs: int
    seconds: float
    credits: int


class WalletFilters(Schema):
    wallet: Literal["", "personal", "pool"] = Field("", description="Default: the wallet that pays for new jobs.")


class HistoryFilters(WalletFilters):
    cursor: int | None = Field(None, ge=1, le=2**62, description="next_cursor of the previous page.")
    limit: int = Field(50, ge=1, le=200)


class UsageFilters(Schema):
    format: Literal["json", "csv"] = "json"


def _wallet(request: HttpRequest, which: str) -> Wallet:
    """The wallet asked for, as on the wallet page: by default the team pool when the team uses one and the token's
    role may see the team's billing, else the user's personal wallet. The pool needs VIEW_BILLING (404 in a personal
    team, which has none)."""
    token = token_of(request)
    team = team_of(request)
    may_see_pool = not team.is_personal and access.role_allows(
        access.token_effective_role(token) or "", Perm.VIEW_BILLING
    )
    if which == "pool":
        if team.is_personal:
            raise ApiError(404, "not_found", "A personal team has no pool.")
        access.token_require(token, team, Perm.VIEW_BILLING)
        return team_wallet(team=team)
    if which == "personal" or not (team_uses_pool(team=team) and may_see_pool):
        return personal_wallet(user=token.user)
    return team_wallet(team=team)


@router.get("", response={200: WalletOut, **errors(403, 404)}, summary="Balance, open holds and caps")
def wallet_get(request: HttpRequest, filters: Query[WalletFilters]) -> WalletOut:
    token = token_of(request)
    team = team_of(request)
    wallet = _wallet(request, filters.wallet)
    spending = wallet_for_spending(user=token.user, team=team)
    caps = cap_status(wallet=spending, user=token.user, team=team)
    holds = list(open_holds(wallet=wallet))
    return WalletOut(
        id=wallet.pk,
        label=wallet.label,
        kind="pool" if wallet.is_pool else "personal",
        balance=wallet.balance,
        held=sum(h.amount for h in holds),
        debt=wallet.debt,
        frozen=wallet.frozen,
        pays_for_new_jobs=wallet.pk == spending.pk,
        caps=CapsOut(
            member_cap=caps.member_cap,
            member_spent=caps.member_spent,
            budget=caps.budget,
            team_spent=caps.team_spent,
            remaining=caps.remaining,
        )
        if caps is not None
        else None,
        holds=[
            HoldOut(
                id=h.pk,
                generation_id=h.reference or h.key,
                amount=h.amount,
                description=h.description,
                user=h.user.email if h.user else None,
                created_at=h.created_at,
            )
            for h in holds
        ],
    )


@router.get("/history", response={200: HistoryPage, **errors(403, 404)}, summary="Every balance change, newest first")
def wallet_history_get(request: HttpRequest, filters: Query[HistoryFilters]) -> HistoryPage:
    wallet = _wallet(request, filters.wallet)
    entries = wallet_history(wallet=wallet)
    if filters.cursor is not None:
        entries = entries.filter(pk__lt=filters.cursor)
    page = list(entries[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return HistoryPage(
        items=[
            EntryOut(
                id=e.pk,
                amount=e.amount,
                kind=e.transaction.kind,
                description=e.transaction.description,
                generation_id=e.transaction.hold.reference if e.transaction.hold else None,
                created_at=e.created_at,
            )
            for e in page
        ],
        next_cursor=str(page[-1].pk) if more and page else None,
    )


@router.get(
    "/usage",
    response={200: list[UsageRowOut], **errors(404)},
    summary="Usage by month, user and project (?format=csv for the CSV)",
    openapi_extra={
        "responses": {
            200: {
                "description": "JSON rows, or with format=csv the usage page's CSV.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def wallet_usage(request: HttpRequest, filters: Query[UsageFilters]) -> list[UsageRowOut] | HttpResponse:
    """The usage page's rows: the whole team's for roles that see billing, else only the caller's own."""
    token = token_of(request)
    team = team_of(request)
    whole_team = access.role_allows(access.token_effective_role(token) or "", Perm.VIEW_BILLING)
    rows = usage_rows(team=team, user=None if whole_team else token.user)
    if filters.format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(USAGE_CSV_HEADER)
        writer.writerows(usage_csv_row(r) for r in rows)
        response = HttpResponse(out.getvalue(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="usage-{team.slug}.csv"'
        return response
    return [
        UsageRowOut(
            month=f"{r.month:%Y-%m}",
            user=r.user_email,
            project=r.project,
            resolution=r.resolution,
            audio=r.audio,
            provider=r.provider,
            jobs=r.jobs,
            seconds=r.seconds,
            credits=r.credits,
        )
        for r in rows
    ]
