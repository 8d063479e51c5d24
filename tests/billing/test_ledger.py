from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db.models import Sum

from billing import ledger
from billing.errors import CapExceeded, DuplicateHold, HoldAlreadyResolved, InsufficientCredits, WalletFrozen
from billing.models import Account, HoldState, LedgerEntry, LedgerTransaction, TxKind
from billing.reconcile import reconcile
from billing.wallets import member_cap_set, team_billing_update, team_wallet, wallet_for_spending
from studio.notifications.models import Notification
from studio.teams.models import Membership
from tests.billing.conftest import funded_wallet
from tests.clock import mid_month
from tests.conftest import World

pytestmark = pytest.mark.django_db


def _assert_books_balanced() -> None:
    assert LedgerEntry.objects.aggregate(s=Sum("amount"))["s"] in (0, None)
    report = reconcile()
    assert report.ok, report.summary()


def test_hold_capture_charges_and_returns_rest() -> None:
    wallet = funded_wallet(1000)
    hold = ledger.hold(wallet=wallet, amount=300, key="job-1", user=wallet.user, team=None)
    assert wallet.balance == 700 and hold.state == HoldState.OPEN
    ledger.capture(hold=hold, amount=120, usage={"seconds": 12.0, "provider": "wavespeed"})
    wallet.refresh_from_db()
    assert wallet.balance == 880
    assert (hold.state, hold.captured_amount, hold.billed_seconds, hold.provider) == (
        "captured",
        120,
        12.0,
        "wavespeed",
    )
    revenue = LedgerEntry.objects.filter(account=Account.REVENUE).aggregate(s=Sum("amount"))["s"]
    assert revenue == 120
    _assert_books_balanced()


def test_release_returns_everything_and_resolves_once() -> None:
    wallet = funded_wallet(500)
    hold = ledger.hold(wallet=wallet, amount=500, key="job-2", user=wallet.user, team=None)
    ledger.release(hold=hold, reason="provider failed")
    wallet.refresh_from_db()
    assert wallet.balance == 500 and hold.state == HoldState.RELEASED
    with pytest.raises(HoldAlreadyResolved):
        ledger.capture(hold=hold, amount=10)
    with pytest.raises(HoldAlreadyResolved):
        ledger.release(hold=hold, reason="again")
    _assert_books_balanced()


def test_capture_more_than_held_refused() -> None:
    wallet = funded_wallet(100)
    hold = ledger.hold(wallet=wallet, amount=50, key="job-3", user=wallet.user, team=None)
    with pytest.raises(ValueError):
        ledger.capture(hold=hold, amount=51)
    hold.refresh_from_db()
    assert hold.state == HoldState.OPEN


def test_insufficient_credits_message_and_nothing_written() -> None:
    wallet = funded_wallet(20)
    with pytest.raises(InsufficientCredits, match=r"^Not enough credits: need 50, have 20\.$"):
        ledger.hold(wallet=wallet, amount=50, key="job-4", user=wallet.user, team=None)
    wallet.refresh_from_db()
    assert wallet.balance == 20
    assert not LedgerTransaction.objects.filter(kind=TxKind.HOLD).exists()


def test_same_key_returns_same_hold_and_different_amount_is_refused() -> None:
    wallet = funded_wallet(100)
    first = ledger.hold(wallet=wallet, amount=30, key="job-5", user=wallet.user, team=None)
    again = ledger.hold(wallet=wallet, amount=30, key="job-5", user=wallet.user, team=None)
    assert first.pk == again.pk
    wallet.refresh_from_db()
    assert wallet.balance == 70
    with pytest.raises(DuplicateHold):
        ledger.hold(wallet=wallet, amount=31, key="job-5", user=wallet.user, team=None)


def test_grant_requires_reason_and_is_idempotent_with_key() -> None:
    wallet = funded_wallet(0)
    with pytest.raises(ValueError, match="reason"):
        ledger.grant(wallet=wallet, amount=10, reason="  ", created_by=None)
    ledger.grant(wallet=wallet, amount=10, reason="welcome", created_by=None, key="w1")
    ledger.grant(wallet=wallet, amount=10, reason="welcome", created_by=None, key="w1")
    assert wallet.balance == 10


def test_negative_adjustment_cannot_overdraw() -> None:
    wallet = funded_wallet(10)
    with pytest.raises(InsufficientCredits):
        ledger.adjust(wallet=wallet, amount=-11, reason="correction", created_by=None)
    ledger.adjust(wallet=wallet, amount=-10, reason="correction", created_by=None)
    assert wallet.balance == 0
    _assert_books_balanced()


def test_frozen_wallet_cannot_hold() -> None:
    wallet = funded_wallet(100)
    ledger.wallet_freeze(wallet=wallet, reason="fraud review")
    with pytest.raises(WalletFrozen, match="fraud review"):
        ledger.hold(wallet=wallet, amount=10, key="job-6", user=wallet.user, team=None)


def _pool(world: World, balance: int) -> None:
    team_billing_update(team=world.team, use_pool=True, monthly_budget=None)
    ledger.grant(wallet=team_wallet(team=world.team), amount=balance, reason="pool", created_by=None)


def test_team_pool_is_spending_wallet_when_enabled(world: World) -> None:
    assert wallet_for_spending(user=world.member, team=world.team).user == world.member
    _pool(world, 100)
    assert wallet_for_spending(user=world.member, team=world.team).team == world.team


# A fixed mid-month clock: holds straddling a month's end (23:59:59 on the 31st) would count in two months.
@mid_month()
def test_member_cap_enforced_and_80_percent_notified(world: World) -> None:
    _pool(world, 10_000)
    membership = Membership.objects.get(team=world.team, user=world.member)
    member_cap_set(membership=membership, monthly_cap=100)
    wallet = team_wallet(team=world.team)
    ledger.hold(wallet=wallet, amount=70, key="c1", user=world.member, team=world.team)
    assert not Notification.objects.filter(user=world.member, kind="billing.cap_warning").exists()
    ledger.hold(wallet=wallet, amount=20, key="c2", user=world.member, team=world.team)
    assert Notification.objects.filter(user=world.member, kind="billing.cap_warning").count() == 1
    with pytest.raises(CapExceeded, match="only 10 of your 100-credit monthly cap"):
        ledger.hold(wallet=wallet, amount=11, key="c3", user=world.member, team=world.team)
    # Released holds give the cap back; other members are not capped.
    ledger.release(hold=wallet.holds.get(key="c2"), reason="failed")
    ledger.hold(wallet=wallet, amount=30, key="c4", user=world.member, team=world.team)
    ledger.hold(wallet=wallet, amount=500, key="c5", user=world.owner, team=world.team)


@mid_month()
def test_team_budget_enforced(world: World) -> None:
    _pool(world, 10_000)
    team_billing_update(team=world.team, use_pool=True, monthly_budget=100)
    wallet = team_wallet(team=world.team)
    ledger.hold(wallet=wallet, amount=60, key="b1", user=world.member, team=world.team)
    with pytest.raises(CapExceeded, match="team's 100-credit monthly budget"):
        ledger.hold(wallet=wallet, amount=60, key="b2", user=world.owner, team=world.team)
    assert Notification.objects.filter(kind="billing.budget_warning").count() == 0
    ledger.hold(wallet=wallet, amount=25, key="b3", user=world.owner, team=world.team)
    # 85% used: owner and admin (VIEW_BILLING) hear about it; the member does not.
    warned = set(Notification.objects.filter(kind="billing.budget_warning").values_list("user__email", flat=True))
    assert warned == {world.owner.email, world.admin.email}


def test_low_balance_notification_once_on_crossing(django_capture_on_commit_callbacks: Any) -> None:
    wallet = funded_wallet(300)
    ledger.hold(wallet=wallet, amount=50, key="l1", user=wallet.user, team=None)  # 250: above 200
    assert not Notification.objects.filter(kind="billing.low_balance").exists()
    with django_capture_on_commit_callbacks(execute=True):
        ledger.hold(wallet=wallet, amount=100, key="l2", user=wallet.user, team=None)  # 150: crossed
    ledger.hold(wallet=wallet, amount=10, key="l3", user=wallet.user, team=None)  # still below: no new notice
    notes = Notification.objects.filter(kind="billing.low_balance", user=wallet.user)
    assert notes.count() == 1 and "150 credits" in notes.get().message
    assert [m.to for m in mail.outbox if "Low balance" in m.subject] == [[wallet.user.email]]
