"""Which wallet pays, and the team-pool settings. Wallets are created lazily, on first need.

A personal team never uses a pool (its only member's personal wallet pays). Caps and the monthly budget apply only
to spending from the team pool; with personal wallets each member pays for themself.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Sum, When
from django.utils import timezone

from billing.models import Hold, HoldState, MemberCap, MonthlySpend, TeamBilling, Wallet
from studio.teams.models import Membership, Team

if TYPE_CHECKING:
    from studio.accounts.models import User


def _get_or_create_wallet(**owner: object) -> Wallet:
    wallet = Wallet.objects.filter(**owner).first()
    if wallet is not None:
        return wallet
    try:
        with transaction.atomic():
            return Wallet.objects.create(**owner)
    except IntegrityError:  # created concurrently
        return Wallet.objects.get(**owner)


def personal_wallet(*, user: User) -> Wallet:
    return _get_or_create_wallet(user=user)


def team_wallet(*, team: Team) -> Wallet:
    return _get_or_create_wallet(team=team)


def team_billing(*, team: Team) -> TeamBilling:
    """The team's billing settings (defaults when never set; not saved until changed)."""
    return TeamBilling.objects.filter(team=team).first() or TeamBilling(team=team)


def team_uses_pool(*, team: Team) -> bool:
    return not team.is_personal and TeamBilling.objects.filter(team=team, use_pool=True).exists()


def wallet_for_spending(*, user: User, team: Team) -> Wallet:
    """The wallet a job by ``user`` in ``team`` is paid from: the team pool if the team uses one, else the user's
    personal wallet. Does not check permissions (the caller checks Perm.GENERATE through the access module)."""
    if team_uses_pool(team=team):
        return team_wallet(team=team)
    return personal_wallet(user=user)


@transaction.atomic
def team_billing_update(*, team: Team, use_pool: bool, monthly_budget: int | None) -> TeamBilling:
    if team.is_personal and use_pool:
        raise ValueError("A personal team has no pool: your personal wallet pays.")
    settings_row, _ = TeamBilling.objects.select_for_update().get_or_create(team=team)
    settings_row.use_pool = use_pool
    settings_row.monthly_budget = monthly_budget
    settings_row.save()
    if use_pool:
        team_wallet(team=team)
    return settings_row


@transaction.atomic
def member_cap_set(*, membership: Membership, monthly_cap: int | None) -> None:
    """Set (or with None, remove) a member's monthly cap on pool spending."""
    if monthly_cap is None:
        MemberCap.objects.filter(membership=membership).delete()
    else:
        MemberCap.objects.update_or_create(membership=membership, defaults={"monthly_cap": monthly_cap})


# --- Month spending (selectors) -------------------------------------------------------------------------------------


def month_start(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_end(now: datetime | None = None) -> datetime:
    start = month_start(now)
    days = calendar.monthrange(start.year, start.month)[1]
    return start.replace(day=days, hour=23, minute=59, second=59, microsecond=999999)


def pool_spent_this_month(*, wallet: Wallet, user: User | None = None, now: datetime | None = None) -> int:
    """Credits committed from ``wallet`` this (UTC) month, summed from the holds (the source of truth): open holds
    count in full, captured holds by what was captured, released holds not at all. With ``user``, only that
    member's holds. A scan of the month: the spending check reads the counters instead (``month_spent``), and
    ``reconcile_ledger`` checks that the two agree."""
    filters = Q(wallet=wallet, created_at__gte=month_start(now))
    if user is not None:
        filters &= Q(user=user)
    total = Hold.objects.filter(filters).aggregate(
        spent=Sum(
            Case(
                When(state=HoldState.OPEN, then=F("amount")),
                When(state=HoldState.CAPTURED, then=F("captured_amount")),
                default=0,
            )
        )
    )["spent"]
    return int(total or 0)


def month_spent(*, wallet: Wallet, user: User | None = None, now: datetime | None = None) -> tuple[int, int]:
    """``(wallet total, the member's)`` committed this month, from the ``MonthlySpend`` counters: one indexed read,
    however full the month is. Plain SQL: a hold runs it while it holds the wallet's lock, where building the ORM
    query would cost more than the query."""
    month = connection.ops.adapt_datefield_value(month_start(now).date())
    table = connection.ops.quote_name(MonthlySpend._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT user_id, spent FROM {table} "  # noqa: S608 (a table name; the values are parameters)
            "WHERE wallet_id = %s AND month = %s AND (user_id IS NULL OR user_id = %s)",
            [wallet.pk, month, user.pk if user is not None else None],
        )
        rows = cursor.fetchall()
    total = member = 0
    for user_id, spent in rows:
        if user_id is None:
            total = int(spent)
        else:
            member = int(spent)
    return total, member


@dataclass(frozen=True)
class CapStatus:
    """Pool limits for one member this month. ``remaining`` is None when neither a cap nor a budget applies."""

    member_cap: int | None
    member_spent: int
    budget: int | None
    team_spent: int

    @property
    def remaining(self) -> int | None:
        limits = []
        if self.member_cap is not None:
            limits.append(self.member_cap - self.member_spent)
        if self.budget is not None:
            limits.append(self.budget - self.team_spent)
        return max(0, min(limits)) if limits else None


@dataclass(frozen=True)
class PoolLimits:
    """A member's monthly cap and the team's monthly budget on pool spending (None = none set). These are settings:
    a hold reads them before it locks the wallet; only the month counters they are checked against must be read
    under the lock (``status``)."""

    member_cap: int | None
    budget: int | None

    @property
    def needs_counters(self) -> bool:
        return self.member_cap is not None or self.budget is not None

    def status(self, *, team_spent: int, member_spent: int) -> CapStatus:
        """These limits against the month so far (the counters' values; ignored for a limit that is not set)."""
        return CapStatus(
            member_cap=self.member_cap,
            member_spent=member_spent if self.member_cap is not None else 0,
            budget=self.budget,
            team_spent=team_spent if self.budget is not None else 0,
        )


def pool_limits(*, wallet: Wallet, user: User, team: Team | None) -> PoolLimits | None:
    """The limits on ``user`` spending from ``wallet`` (None unless it is ``team``'s pool). One query, in plain SQL
    because every pool hold reads it."""
    if team is None or wallet.team_id != team.pk:
        return None
    quote = connection.ops.quote_name
    caps, memberships = quote(MemberCap._meta.db_table), quote(Membership._meta.db_table)
    billing = quote(TeamBilling._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT c.monthly_cap FROM {caps} c JOIN {memberships} m ON m.id = c.membership_id "  # noqa: S608
            "WHERE m.team_id = %s AND m.user_id = %s), "
            f"(SELECT b.monthly_budget FROM {billing} b WHERE b.team_id = %s)",
            [team.pk, user.pk, team.pk],
        )
        member_cap, budget = cursor.fetchone()
    return PoolLimits(member_cap=member_cap, budget=budget)


def cap_status(*, wallet: Wallet, user: User, team: Team | None) -> CapStatus | None:
    """The member's cap and the team's budget for spending from ``wallet`` (None unless it is ``team``'s pool)."""
    limits = pool_limits(wallet=wallet, user=user, team=team)
    if limits is None:
        return None
    if not limits.needs_counters:
        return limits.status(team_spent=0, member_spent=0)
    team_spent, member_spent = month_spent(wallet=wallet, user=user)
    return limits.status(team_spent=team_spent, member_spent=member_spent)
