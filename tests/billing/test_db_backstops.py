"""The database refuses what the ledger module would never do, even when code bypasses it."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from billing import ledger
from billing.models import HoldResolution, HoldState, LedgerEntry, LedgerTransaction, TxKind, Wallet
from tests.billing.conftest import funded_wallet

pytestmark = pytest.mark.django_db


def test_raw_update_that_would_overdraw_raises() -> None:
    wallet = funded_wallet(10)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_wallet SET balance = balance - 11 WHERE id = %s", [wallet.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(balance=-1)
    wallet.refresh_from_db()
    assert wallet.balance == 10


def test_update_of_ledger_entry_raises() -> None:
    funded_wallet(10)
    entry = LedgerEntry.objects.first()
    assert entry is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=entry.amount + 1)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_ledgerentry SET amount = 5 WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert entry.amount in (10, -10)


def test_delete_of_ledger_entry_and_transaction_raises() -> None:
    funded_wallet(10)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_ledgerentry")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_ledgertransaction SET description = 'rewritten'")
    assert LedgerEntry.objects.count() == 2


def test_second_resolution_of_a_hold_is_refused_by_the_database() -> None:
    wallet = funded_wallet(100)
    hold = ledger.hold(wallet=wallet, amount=40, key="job-x", user=wallet.user, team=None)
    ledger.capture(hold=hold, amount=40)
    tx = LedgerTransaction.objects.get(kind=TxKind.CAPTURE)
    other_tx = LedgerTransaction.objects.get(kind=TxKind.HOLD)
    # Bypass the ledger module: a second resolution row for the same hold.
    with pytest.raises(IntegrityError), transaction.atomic():
        HoldResolution.objects.create(hold=hold, state=HoldState.RELEASED, transaction=other_tx)
    assert HoldResolution.objects.filter(hold=hold).count() == 1
    assert HoldResolution.objects.get(hold=hold).transaction == tx


def test_idempotency_key_unique_per_kind() -> None:
    wallet = funded_wallet(0)
    LedgerTransaction.objects.create(kind=TxKind.PURCHASE, idempotency_key="cs_1", wallet=wallet)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerTransaction.objects.create(kind=TxKind.PURCHASE, idempotency_key="cs_1", wallet=wallet)
    LedgerTransaction.objects.create(kind=TxKind.HOLD, idempotency_key="cs_1", wallet=wallet)  # another purpose


@pytest.mark.django_db(transaction=True)
def test_djangos_own_flush_still_works_but_nothing_else_deletes() -> None:
    """Transactional tests of every app end with a flush; the append-only triggers must let only that through."""
    from django.core.management import call_command

    funded_wallet(10)
    call_command("flush", interactive=False, verbosity=0)
    assert not LedgerEntry.objects.exists()
    funded_wallet(5)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_ledgerentry")
    assert LedgerEntry.objects.count() == 2
