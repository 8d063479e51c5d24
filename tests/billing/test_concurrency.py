"""Holds under real concurrency (PostgreSQL): the balance never goes below zero and exactly the affordable holds win."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.models import Sum

from billing import ledger
from billing.errors import InsufficientCredits
from billing.models import Hold, LedgerEntry, Wallet
from billing.reconcile import reconcile
from tests.billing.conftest import funded_wallet, skip_unless_postgres


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_1000_holds_from_50_threads_against_5000_credits(hold_writes: str) -> None:
    skip_unless_postgres()
    wallet = funded_wallet(5000)
    user = wallet.user
    assert user is not None
    outcomes: list[str] = []
    lock = threading.Lock()
    lowest = [wallet.balance]

    def one(i: int) -> None:
        try:
            ledger.hold(wallet=wallet, amount=10, key=f"job-{i}", user=user, team=None)
            result = "ok"
        except InsufficientCredits:
            result = "insufficient"
        except Exception as exc:  # a deadlock or any 500-worthy error fails the test below
            result = f"error: {type(exc).__name__}: {exc}"
        balance = Wallet.objects.values_list("balance", flat=True).get(pk=wallet.pk)
        with lock:
            outcomes.append(result)
            lowest[0] = min(lowest[0], balance)

    def run(i: int) -> None:
        try:
            one(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(run, range(1000)))

    errors = [o for o in outcomes if o.startswith("error")]
    assert errors == []
    assert outcomes.count("ok") == 500
    assert outcomes.count("insufficient") == 500
    assert lowest[0] >= 0
    wallet.refresh_from_db()
    assert wallet.balance == 0
    assert Hold.objects.count() == 500
    assert LedgerEntry.objects.aggregate(s=Sum("amount"))["s"] == 0
    assert reconcile().ok
    assert connection.vendor == "postgresql"
