"""Ledger reconciliation: check every invariant of ``billing.models`` against the data and report what is off.
It fixes nothing; a mismatch is for a person to look at (the staff page, ``manage.py reconcile_ledger``, the hourly
Celery task, which logs an error).

The generations app tells billing whether a hold's job is finished through ``register_hold_finished_checker`` (so
billing never imports it): an open hold older than ``stale_after`` whose job is finished is reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Case, Count, F, Q, Sum, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from billing.models import Account, Hold, HoldState, LedgerEntry, LedgerTransaction, MonthlySpend, Wallet

HoldFinishedChecker = Callable[[Hold], "bool | None"]
DEFAULT_STALE_AFTER = timedelta(minutes=60)

_checkers: list[HoldFinishedChecker] = []


def register_hold_finished_checker(checker: HoldFinishedChecker) -> None:
    """Register ``checker(hold) -> True (job finished) | False (still running) | None (don't know)``."""
    if checker not in _checkers:
        _checkers.append(checker)


def _hold_job_finished(hold: Hold, checkers: list[HoldFinishedChecker]) -> bool | None:
    for checker in checkers:
        answer = checker(hold)
        if answer is not None:
            return answer
    return None


@dataclass
class ReconcileReport:
    wallets_checked: int = 0
    transactions_checked: int = 0
    balance_mismatches: list[str] = field(default_factory=list)
    unbalanced_transactions: list[str] = field(default_factory=list)
    hold_mismatches: list[str] = field(default_factory=list)
    stale_holds: list[str] = field(default_factory=list)
    counter_mismatches: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return (
            self.balance_mismatches
            + self.unbalanced_transactions
            + self.hold_mismatches
            + self.stale_holds
            + self.counter_mismatches
        )

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = f"Checked {self.wallets_checked} wallets and {self.transactions_checked} transactions: " + (
            "all consistent." if self.ok else f"{len(self.problems)} problem(s)."
        )
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


def reconcile(
    *, hold_finished: HoldFinishedChecker | None = None, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> ReconcileReport:
    report = ReconcileReport()
    wallets = Wallet.objects.annotate(
        entries_balance=Coalesce(Sum("entries__amount", filter=Q(entries__account=Account.WALLET)), 0),
        entries_debt=Coalesce(Sum("entries__amount", filter=Q(entries__account=Account.DEBT)), 0),
    )
    for wallet in wallets:
        report.wallets_checked += 1
        if wallet.balance != wallet.entries_balance:
            report.balance_mismatches.append(
                f"Wallet {wallet.pk} ({wallet.label}): cached balance {wallet.balance}, entries say "
                f"{wallet.entries_balance}."
            )
        if wallet.debt != -wallet.entries_debt:
            report.balance_mismatches.append(
                f"Wallet {wallet.pk} ({wallet.label}): cached debt {wallet.debt}, entries say {-wallet.entries_debt}."
            )
    report.transactions_checked = LedgerTransaction.objects.count()
    unbalanced = (
        LedgerTransaction.objects.annotate(total=Coalesce(Sum("entries__amount"), 0), lines=Count("entries"))
        .filter(~Q(total=0) | Q(lines=0))
        .values_list("pk", "kind", "total")
    )
    for pk, kind, total in unbalanced:
        report.unbalanced_transactions.append(f"Transaction {pk} ({kind}) sums to {total}, not 0 (or has no entries).")
    # A hold's state and its resolution row must agree; the hold account must equal the open holds.
    for hold in Hold.objects.filter(state=HoldState.OPEN, outcome__isnull=False):
        report.hold_mismatches.append(f"Hold {hold.key} is open but has a resolution.")
    for hold in Hold.objects.exclude(state=HoldState.OPEN).filter(outcome__isnull=True):
        report.hold_mismatches.append(f"Hold {hold.key} is {hold.state} but has no resolution row.")
    for hold in Hold.objects.exclude(state=HoldState.OPEN).exclude(outcome__captured_amount=F("captured_amount")):
        report.hold_mismatches.append(f"Hold {hold.key}: captured amount differs from its resolution.")
    held = LedgerEntry.objects.filter(account=Account.HOLDS).aggregate(s=Coalesce(Sum("amount"), 0))["s"]
    open_total = Hold.objects.filter(state=HoldState.OPEN).aggregate(s=Coalesce(Sum("amount"), 0))["s"]
    if held != open_total:
        report.hold_mismatches.append(f"The holds account holds {held} credits but open holds total {open_total}.")
    report.counter_mismatches = spend_counter_mismatches()
    checkers = [hold_finished] if hold_finished is not None else list(_checkers)
    if checkers:
        cutoff = timezone.now() - stale_after
        for hold in Hold.objects.filter(state=HoldState.OPEN, created_at__lt=cutoff).order_by("created_at"):
            if _hold_job_finished(hold, checkers):
                report.stale_holds.append(
                    f"Hold {hold.key} ({hold.amount} credits, since {hold.created_at:%Y-%m-%d %H:%M}) is open but its "
                    "job is finished."
                )
    return report


def spend_sums() -> dict[tuple[int, date, int | None], int]:
    """What every month counter should say, summed from the holds: ``(wallet, month, member or None) → credits``."""
    committed = Sum(
        Case(
            When(state=HoldState.OPEN, then=F("amount")),
            When(state=HoldState.CAPTURED, then=F("captured_amount")),
            default=0,
        )
    )
    rows = (
        Hold.objects.filter(wallet__team__isnull=False)
        .annotate(month=TruncMonth("created_at"))
        .values("wallet_id", "month", "user_id")
        .annotate(spent=committed)
        .values_list("wallet_id", "month", "user_id", "spent")
    )
    sums: dict[tuple[int, date, int | None], int] = defaultdict(int)
    for wallet_id, month, user_id, spent in rows:
        day = month.date() if isinstance(month, datetime) else month
        sums[(wallet_id, day, None)] += int(spent or 0)
        if user_id is not None:
            sums[(wallet_id, day, user_id)] += int(spent or 0)
    return dict(sums)


def spend_counter_mismatches() -> list[str]:
    """Every ``MonthlySpend`` counter must equal the sum of its holds (the ledger stays the source of truth)."""
    expected = spend_sums()
    actual: dict[tuple[int, date, int | None], int] = {
        (wallet_id, month, user_id): int(spent)
        for wallet_id, month, user_id, spent in MonthlySpend.objects.values_list(
            "wallet_id", "month", "user_id", "spent"
        )
    }
    problems = []
    for key in sorted(set(expected) | set(actual), key=lambda k: (k[0], k[1], k[2] or 0)):
        want, have = expected.get(key, 0), actual.get(key, 0)
        if want != have:
            wallet_id, month, user_id = key
            who = f"member {user_id}" if user_id is not None else "all members"
            problems.append(
                f"Wallet {wallet_id}, {month:%Y-%m}, {who}: spend counter says {have}, the holds say {want}."
            )
    return problems
