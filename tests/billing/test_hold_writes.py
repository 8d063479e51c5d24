"""How ``ledger.hold`` writes: the rows, the month counters, a key taken while waiting for the wallet lock, the
conditional update as the backstop, and concurrent pool holds against a cap and a budget.

A hold is written one of two ways (``ledger._HOLD_WRITERS``): one statement on PostgreSQL, the ORM elsewhere (SQLite
on laptops). CI runs on PostgreSQL only, so every test here runs both ways (the ``hold_writes`` fixture)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.db.models import Sum

from billing import ledger
from billing.errors import CapExceeded, DuplicateHold, InsufficientCredits
from billing.models import Hold, HoldState, LedgerEntry, LedgerTransaction, MonthlySpend, TxKind, Wallet
from billing.reconcile import reconcile, spend_counter_mismatches
from billing.wallets import member_cap_set, team_billing_update, team_wallet
from studio.accounts.models import User
from studio.teams.models import Membership, Role, Team
from tests.billing.conftest import funded_wallet, skip_unless_postgres
from tests.clock import mid_month
from tests.factories import MembershipFactory, TeamFactory, UserFactory


def _pool(team: Team, balance: int, *, budget: int | None = None) -> Wallet:
    team_billing_update(team=team, use_pool=True, monthly_budget=budget)
    wallet = team_wallet(team=team)
    ledger.grant(wallet=wallet, amount=balance, reason="pool", created_by=None)
    wallet.refresh_from_db()
    return wallet


def _team(members: int) -> tuple[Team, list[User]]:
    team = TeamFactory()
    users = [UserFactory() for _ in range(members)]
    for i, user in enumerate(users):
        MembershipFactory(team=team, user=user, role=Role.OWNER if i == 0 else Role.MEMBER)
    return team, users


def _assert_books_balanced() -> None:
    assert LedgerEntry.objects.aggregate(s=Sum("amount"))["s"] in (0, None)
    report = reconcile()
    assert report.ok, report.summary()


@pytest.mark.django_db
def test_a_hold_writes_the_hold_and_its_balanced_transaction_and_moves_the_wallet(hold_writes: str) -> None:
    wallet = funded_wallet(100)
    user = wallet.user
    assert user is not None
    hold = ledger.hold(
        wallet=wallet,
        amount=30,
        key="job-1",
        user=user,
        team=None,
        description="A clip",
        reference_meta={"seconds": 5.0, "provider": "emu", "resolution": "720p"},
    )
    assert hold.pk is not None and not hold._state.adding
    stored = Hold.objects.get(pk=hold.pk)
    assert (stored.wallet_id, stored.user_id, stored.team_id, stored.amount, stored.state) == (
        wallet.pk,
        user.pk,
        None,
        30,
        HoldState.OPEN,
    )
    assert (stored.reference, stored.description, stored.requested_seconds, stored.provider, stored.resolution) == (
        "job-1",
        "A clip",
        5.0,
        "emu",
        "720p",
    )
    assert stored.created_at == hold.created_at
    # The caller's wallet object shows the new balance without a refresh.
    assert wallet.balance == 70
    assert Wallet.objects.get(pk=wallet.pk).balance == 70
    tx = LedgerTransaction.objects.get(kind=TxKind.HOLD, idempotency_key="job-1")
    assert (tx.hold_id, tx.wallet_id, tx.created_by_id, tx.description) == (hold.pk, wallet.pk, user.pk, "A clip")
    entries = sorted((e.account, e.wallet_id, e.amount, e.created_at) for e in tx.entries.all())
    assert entries == [("holds", None, 30, tx.created_at), ("wallet", wallet.pk, -30, tx.created_at)]
    assert not MonthlySpend.objects.exists()  # a personal wallet keeps no month counters
    _assert_books_balanced()


@pytest.mark.django_db
# A fixed mid-month clock: holds straddling a month's end (23:59:59 on the 31st) would count in two months.
@mid_month()
def test_pool_holds_create_and_then_move_the_month_counters_and_the_limits_hold(hold_writes: str) -> None:
    team, (owner, member) = _team(2)
    pool = _pool(team, 1000, budget=800)
    member_cap_set(membership=Membership.objects.get(team=team, user=member), monthly_cap=500)
    ledger.hold(wallet=pool, amount=100, key="p1", user=member, team=team)
    ledger.hold(wallet=pool, amount=50, key="p2", user=member, team=team)
    ledger.hold(wallet=pool, amount=20, key="p3", user=owner, team=team)
    counters = dict(MonthlySpend.objects.filter(wallet=pool).values_list("user_id", "spent"))
    assert counters == {None: 170, member.pk: 150, owner.pk: 20}
    with pytest.raises(CapExceeded, match="only 350 of your 500-credit monthly cap"):
        ledger.hold(wallet=pool, amount=351, key="p4", user=member, team=team)
    with pytest.raises(CapExceeded, match="only 630 of the team's 800-credit monthly budget"):
        ledger.hold(wallet=pool, amount=631, key="p5", user=owner, team=team)
    ledger.hold(wallet=pool, amount=630, key="p6", user=owner, team=team)
    assert pool.balance == 200
    assert spend_counter_mismatches() == []
    _assert_books_balanced()


@pytest.mark.django_db
def test_a_retry_returns_the_hold_and_writes_nothing_more(hold_writes: str) -> None:
    wallet = funded_wallet(100)
    user = wallet.user
    assert user is not None
    first = ledger.hold(wallet=wallet, amount=30, key="job-1", user=user, team=None)
    ledger.wallet_freeze(wallet=wallet, reason="fraud review")  # a retry needs no spending check
    again = ledger.hold(wallet=wallet, amount=30, key="job-1", user=user, team=None)
    assert again.pk == first.pk
    with pytest.raises(DuplicateHold):
        ledger.hold(wallet=wallet, amount=31, key="job-1", user=user, team=None)
    assert Wallet.objects.get(pk=wallet.pk).balance == 70
    assert LedgerTransaction.objects.filter(kind=TxKind.HOLD).count() == 1
    _assert_books_balanced()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_key_from_8_threads_at_once_holds_once(hold_writes: str) -> None:
    """Concurrent first calls with one key (a retried pipeline step racing itself): one hold, and every call gets it
    back; none fails or holds twice."""
    skip_unless_postgres()
    wallet = funded_wallet(100)
    user = wallet.user
    assert user is not None
    barrier = threading.Barrier(8)

    def one(_: int) -> int | str:
        try:
            barrier.wait()
            return ledger.hold(wallet=wallet, amount=30, key="job-1", user=user, team=None).pk
        except Exception as exc:  # any error fails the test below
            return f"error: {type(exc).__name__}: {exc}"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as threads:
        results = list(threads.map(one, range(8)))

    hold = Hold.objects.get(key="job-1")
    assert results == [hold.pk] * 8
    assert Wallet.objects.get(pk=wallet.pk).balance == 70
    assert LedgerTransaction.objects.filter(kind=TxKind.HOLD).count() == 1
    _assert_books_balanced()


@pytest.mark.django_db
def test_the_conditional_update_refuses_an_overdraft_the_check_let_through(
    hold_writes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backstop: were the spending check ever wrong, the balance still moves only by a conditional update, and
    the refused hold leaves nothing behind."""
    wallet = funded_wallet(20)
    user = wallet.user
    assert user is not None
    monkeypatch.setattr(ledger, "spending_refusal", lambda **kwargs: None)
    with pytest.raises(InsufficientCredits):
        ledger.hold(wallet=wallet, amount=50, key="job-1", user=user, team=None)
    assert Wallet.objects.get(pk=wallet.pk).balance == 20
    assert not Hold.objects.exists()
    assert not LedgerTransaction.objects.filter(kind=TxKind.HOLD).exists()
    _assert_books_balanced()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
# A fixed mid-month clock: holds straddling a month's end (23:59:59 on the 31st) would count in two months.
@mid_month()
def test_concurrent_pool_holds_stay_within_the_budget_the_cap_and_the_balance(hold_writes: str) -> None:
    """16 threads hold on one team pool: exactly the budget is held, the capped member never passes the cap, the
    balance never goes below zero, and the counters equal the holds."""
    skip_unless_postgres()
    team, users = _team(4)
    capped = users[1]
    pool = _pool(team, 3000, budget=2000)
    member_cap_set(membership=Membership.objects.get(team=team, user=capped), monthly_cap=600)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        user = users[i % len(users)]
        try:
            ledger.hold(wallet=pool, amount=10, key=f"job-{i}", user=user, team=team)
            result = "ok"
        except CapExceeded:
            result = "capped"
        except Exception as exc:  # a deadlock, an overdraft or any 500-worthy error fails the test below
            result = f"error: {type(exc).__name__}: {exc}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append((user.pk, result))

    with ThreadPoolExecutor(max_workers=16) as threads:
        list(threads.map(one, range(300)))

    assert [o for _, o in outcomes if o.startswith("error")] == []
    assert sum(o == "ok" for _, o in outcomes) == 200  # 2000 credits of budget, 10 a hold
    assert sum(o == "ok" for user_id, o in outcomes if user_id == capped.pk) <= 60
    assert Wallet.objects.get(pk=pool.pk).balance == 1000
    spent = dict(MonthlySpend.objects.filter(wallet=pool).values_list("user_id", "spent"))
    assert spent[None] == 2000
    assert spent.get(capped.pk, 0) <= 600
    assert spend_counter_mismatches() == []
    _assert_books_balanced()
