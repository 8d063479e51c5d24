"""A hypothesis state machine over the ledger: purchases, holds, captures, releases, refunds, duplicate webhooks and
retries after a crash, checked after every step against a plain-Python model of the books.

CI runs at least 200 examples × 50 steps (BILLING_STATEFUL_EXAMPLES may raise it; locally it may lower it)."""

from __future__ import annotations

import os

import pytest
from django.db import transaction
from django.db.models import Count, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test

from billing import ledger
from billing.errors import HoldAlreadyResolved, InsufficientCredits, OutstandingDebt
from billing.models import Hold, HoldResolution, LedgerEntry, Purchase, Wallet
from billing.purchases import fulfil_checkout, handle_event, record_charge_reversal
from billing.reconcile import reconcile
from billing.stripe_gateway import CheckoutSession
from billing.wallets import personal_wallet
from tests.billing.conftest import make_pack
from tests.factories import UserFactory

EXAMPLES = int(os.environ.get("BILLING_STATEFUL_EXAMPLES", "200"))
if os.environ.get("CI") and EXAMPLES < 200:
    EXAMPLES = 200


class Crash(Exception):
    """A worker dying after the ledger call, before its transaction commits."""


class LedgerMachine(RuleBasedStateMachine):
    holds = Bundle("holds")
    purchases = Bundle("purchases")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.wallets = [personal_wallet(user=UserFactory()) for _ in range(2)]
        self.balance = [0, 0]
        self.debt = [0, 0]
        self.pack = make_pack(1000)
        self.counter = 0
        self.open_holds: dict[str, tuple[int, int]] = {}  # key → (wallet index, amount)
        self.resolved: set[str] = set()
        self.paid: dict[str, tuple[int, int, int, int]] = {}  # session → (wallet index, credits, cents, reversed)
        self.refunded_cents: dict[str, int] = {}

    def teardown(self) -> None:
        try:
            report = reconcile()  # the full reconciliation once per example; the cheap invariants run every step
            assert report.ok, report.summary()
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

    def _next(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{id(self)}-{self.counter}"

    def _credit(self, w: int, amount: int) -> None:
        """Credits into a wallet pay its debt first (the ledger's rule)."""
        self.balance[w] += amount
        repay = min(self.debt[w], self.balance[w])
        self.balance[w] -= repay
        self.debt[w] -= repay

    # --- rules ---------------------------------------------------------------------------------------------------

    @rule(target=purchases, w=st.integers(0, 1), credits=st.sampled_from([100, 250, 1000]))
    def purchase(self, w: int, credits: int) -> str:
        session_id = self._next("cs")
        cents = credits // 2
        Purchase.objects.create(
            session_id=session_id,
            wallet=self.wallets[w],
            pack=self.pack,
            credits=credits,
            amount_cents=cents,
            currency="usd",
        )
        session = CheckoutSession(id=session_id, payment_status="paid", payment_intent=f"pi-{session_id}")
        fulfil_checkout(session_id=session_id, session=session)
        self.paid[session_id] = (w, credits, cents, 0)
        self._credit(w, credits)
        return session_id

    @rule(session_id=purchases)
    def duplicate_webhook(self, session_id: str) -> None:
        event = {
            "id": "evt",
            "type": "checkout.session.completed",
            "data": {"object": {"id": session_id, "payment_status": "paid", "payment_intent": f"pi-{session_id}"}},
        }
        handle_event(event)  # no change expected

    @rule(session_id=purchases, fraction=st.sampled_from([0.1, 0.5, 1.0]))
    def refund(self, session_id: str, fraction: float) -> None:
        w, credits, cents, reversed_ = self.paid[session_id]
        cumulative = max(self.refunded_cents.get(session_id, 0), int(cents * fraction))
        self.refunded_cents[session_id] = cumulative
        record_charge_reversal(
            payment_intent=f"pi-{session_id}", charge_id=f"ch-{session_id}", amount_refunded_cents=int(cents * fraction)
        )
        target = credits * cumulative // cents
        delta = target - reversed_
        if delta > 0:
            taken = min(delta, self.balance[w])
            self.balance[w] -= taken
            self.debt[w] += delta - taken
            self.paid[session_id] = (w, credits, cents, target)

    @rule(target=holds, w=st.integers(0, 1), amount=st.integers(1, 400))
    def hold(self, w: int, amount: int) -> str:
        key = self._next("job")
        wallet = self.wallets[w]
        try:
            ledger.hold(wallet=wallet, amount=amount, key=key, user=wallet.user, team=None)  # type: ignore[arg-type]
        except OutstandingDebt:
            assert self.debt[w] > 0
        except InsufficientCredits:
            assert self.debt[w] == 0 and self.balance[w] < amount
        else:
            assert self.debt[w] == 0 and self.balance[w] >= amount
            self.balance[w] -= amount
            self.open_holds[key] = (w, amount)
        return key

    @rule(key=holds, fraction=st.sampled_from([0.0, 0.3, 1.0]))
    def capture(self, key: str, fraction: float) -> None:
        hold = Hold.objects.filter(key=key).first()
        if hold is None:
            return
        charged = int(hold.amount * fraction)
        if key in self.resolved:
            with pytest.raises(HoldAlreadyResolved):
                ledger.capture(hold=hold, amount=charged)
            return
        ledger.capture(hold=hold, amount=charged, usage={"seconds": 5.0})
        w, amount = self.open_holds.pop(key)
        self.resolved.add(key)
        self._credit(w, amount - charged)

    @rule(key=holds)
    def release(self, key: str) -> None:
        hold = Hold.objects.filter(key=key).first()
        if hold is None:
            return
        if key in self.resolved:
            with pytest.raises(HoldAlreadyResolved):
                ledger.release(hold=hold, reason="again")
            return
        ledger.release(hold=hold, reason="failed")
        w, amount = self.open_holds.pop(key)
        self.resolved.add(key)
        self._credit(w, amount)

    @rule(key=consumes(holds), charge=st.booleans())
    def retry_after_crash(self, key: str, charge: bool) -> None:
        """The worker crashes after resolving a hold; the retry resolves it for real, once."""
        hold = Hold.objects.filter(key=key).first()
        if hold is None or key in self.resolved:
            return
        amount = hold.amount if charge else 0
        with pytest.raises(Crash), transaction.atomic():
            ledger.capture(hold=hold, amount=amount)
            raise Crash
        hold.refresh_from_db()
        assert hold.state == "open"
        ledger.capture(hold=hold, amount=amount)
        with pytest.raises(HoldAlreadyResolved):
            ledger.capture(hold=hold, amount=amount)
        w, held = self.open_holds.pop(key)
        self.resolved.add(key)
        self._credit(w, held - amount)

    @rule(w=st.integers(0, 1), amount=st.integers(1, 300))
    def retry_hold_after_crash(self, w: int, amount: int) -> None:
        """A crash after the hold: nothing stays; the retry with the same key holds once."""
        key = self._next("job")
        wallet = self.wallets[w]
        try:
            with transaction.atomic():
                ledger.hold(wallet=wallet, amount=amount, key=key, user=wallet.user, team=None)  # type: ignore[arg-type]
                raise Crash
        except (Crash, InsufficientCredits, OutstandingDebt):
            pass
        assert not Hold.objects.filter(key=key).exists()
        for _ in range(2):  # the retry, and a duplicate of it
            try:
                ledger.hold(wallet=wallet, amount=amount, key=key, user=wallet.user, team=None)  # type: ignore[arg-type]
            except (InsufficientCredits, OutstandingDebt):
                return
        self.balance[w] -= amount
        self.open_holds[key] = (w, amount)

    # --- invariants ----------------------------------------------------------------------------------------------

    @invariant()
    def books_match_model(self) -> None:
        for i, wallet in enumerate(self.wallets):
            fresh = Wallet.objects.get(pk=wallet.pk)
            assert (fresh.balance, fresh.debt) == (self.balance[i], self.debt[i])
            assert fresh.balance >= 0
        assert LedgerEntry.objects.aggregate(s=Sum("amount"))["s"] in (0, None)
        assert not HoldResolution.objects.values("hold").annotate(n=Count("pk")).filter(n__gt=1).exists()
        assert set(Hold.objects.filter(state="open", wallet__in=self.wallets).values_list("key", flat=True)) == set(
            self.open_holds
        )


@pytest.mark.django_db
def test_ledger_state_machine() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
