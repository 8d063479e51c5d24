"""``spending.SPENDABLE_SQL`` (the rules a hold's conditional update applies to the wallet's row) against
``spending_refusal`` (the decision): they agree on every wallet state and amount, and a hold ends the same way
whichever of them says no first."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import ledger
from billing.errors import InsufficientCredits, OutstandingDebt, WalletFrozen
from billing.models import Hold, LedgerTransaction, TxKind, Wallet
from billing.spending import SPENDABLE_SQL, spending_refusal
from tests.billing.conftest import funded_wallet, skip_unless_postgres

amounts = st.integers(min_value=1, max_value=10**12)
wallet_states = st.fixed_dictionaries(
    {
        "balance": st.one_of(st.integers(min_value=0, max_value=10**12), st.sampled_from([0, 1, 99, 100, 101])),
        "debt": st.one_of(st.just(0), st.integers(min_value=0, max_value=10**6)),
        "frozen": st.booleans(),
    }
)


def _sql_allows(wallet: Wallet, amount: int) -> bool:
    table = connection.ops.quote_name(Wallet._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE id = %s AND {SPENDABLE_SQL})",  # noqa: S608 (constants)
            [wallet.pk, amount],
        )
        (allowed,) = cursor.fetchone()
    return bool(allowed)


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=wallet_states, amount=amounts)
def test_the_sql_rules_allow_exactly_what_the_spending_check_allows(state: dict[str, int | bool], amount: int) -> None:
    wallet = funded_wallet(0)
    Wallet.objects.filter(pk=wallet.pk).update(**state, frozen_reason="review" if state["frozen"] else "")
    wallet.refresh_from_db()
    assert _sql_allows(wallet, amount) == (spending_refusal(wallet=wallet, amount=amount, caps=None) is None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "error", "message"),
    [
        ({"frozen": True, "frozen_reason": "fraud review"}, WalletFrozen, "fraud review"),
        ({"debt": 40}, OutstandingDebt, "owes 40 credits"),
        ({"balance": 29}, InsufficientCredits, "29"),
    ],
)
def test_a_refused_hold_raises_the_checks_reason_and_writes_nothing(
    hold_writes: str, state: dict[str, object], error: type[Exception], message: str
) -> None:
    wallet = funded_wallet(100)
    Wallet.objects.filter(pk=wallet.pk).update(**state)
    before = Wallet.objects.get(pk=wallet.pk)
    assert wallet.user is not None
    with pytest.raises(error, match=message):
        ledger.hold(wallet=wallet, amount=30, key="job-1", user=wallet.user, team=None)
    after = Wallet.objects.get(pk=wallet.pk)
    assert (after.balance, after.debt, after.frozen) == (before.balance, before.debt, before.frozen)
    assert not Hold.objects.exists()
    assert not LedgerTransaction.objects.filter(kind=TxKind.HOLD).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_credit_that_arrives_between_the_refused_update_and_the_lock_lets_the_hold_through(
    hold_writes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conditional update finds too little; before the hold locks the row to say why, a purchase lands (another
    connection, committed). The check then allows the hold, and it is written once, from the new balance."""
    skip_unless_postgres()
    wallet = funded_wallet(10)
    assert wallet.user is not None
    lock_wallet = ledger._lock_wallet

    def a_purchase_lands_first(locked: Wallet) -> Wallet:
        def grant() -> None:
            try:
                ledger.grant(wallet=Wallet.objects.get(pk=wallet.pk), amount=90, reason="top-up", created_by=None)
            finally:
                connections.close_all()

        other = threading.Thread(target=grant)
        other.start()
        other.join()
        return lock_wallet(locked)

    monkeypatch.setattr(ledger, "_lock_wallet", a_purchase_lands_first)
    hold = ledger.hold(wallet=wallet, amount=30, key="job-1", user=wallet.user, team=None)
    assert Hold.objects.get().pk == hold.pk
    assert Wallet.objects.get(pk=wallet.pk).balance == 70
    assert wallet.balance == 70
    assert LedgerTransaction.objects.filter(kind=TxKind.HOLD).count() == 1
