from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from billing import ledger
from billing.metering import active_rate_card
from billing.models import Hold, LedgerTransaction, RateCard, TxKind, Wallet
from billing.reconcile import reconcile, register_hold_finished_checker
from billing.tasks import reconcile_ledger
from billing.wallets import personal_wallet
from tests.billing.conftest import funded_wallet
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_grant_credits_command() -> None:
    user = UserFactory(email="pat@example.com")
    out = StringIO()
    call_command("grant_credits", "PAT@example.com", "250", "--reason", "beta tester", stdout=out)
    wallet = personal_wallet(user=user)
    assert wallet.balance == 250 and "250" in out.getvalue()
    tx = LedgerTransaction.objects.get(kind=TxKind.GRANT)
    assert tx.reason == "beta tester"
    with pytest.raises(CommandError):
        call_command("grant_credits", "nobody@example.com", "5", "--reason", "x")
    with pytest.raises(CommandError):
        call_command("grant_credits", "pat@example.com", "-5", "--reason", "x")
    with pytest.raises(CommandError):
        call_command("grant_credits", "pat@example.com", "5", "--reason", " ")


def test_reconcile_clean_then_reports_tampered_cache() -> None:
    wallet = funded_wallet(100)
    call_command("reconcile_ledger", stdout=StringIO())
    # Bypass the ledger: the cached balance no longer matches the entries.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_wallet SET balance = 90 WHERE id = %s", [wallet.pk])
    report = reconcile()
    assert not report.ok
    assert report.balance_mismatches == [
        f"Wallet {wallet.pk} ({Wallet.objects.get(pk=wallet.pk).label}): cached balance 90, entries say 100."
    ]
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("reconcile_ledger", stderr=err)
    assert "cached balance 90" in err.getvalue()
    assert Wallet.objects.get(pk=wallet.pk).balance == 90  # fixes nothing
    assert reconcile_ledger()["ok"] is False


def test_reconcile_reports_open_hold_of_finished_job(monkeypatch: Any) -> None:
    wallet = funded_wallet(100)
    old = ledger.hold(wallet=wallet, amount=10, key="old-job", user=wallet.user, team=None)
    ledger.hold(wallet=wallet, amount=10, key="running-job", user=wallet.user, team=None)
    Hold.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=3))
    finished = {"old-job"}
    report = reconcile(hold_finished=lambda hold: hold.reference in finished)
    assert [p.split(" (")[0] for p in report.stale_holds] == ["Hold old-job"]
    # The registry is what the pipeline uses; the task and command read it.
    monkeypatch.setattr("billing.reconcile._checkers", [])
    register_hold_finished_checker(lambda hold: hold.reference in finished)
    assert len(reconcile().stale_holds) == 1
    ledger.release(hold=old, reason="job failed")
    assert reconcile().ok


def test_seed_demo_grants_demo_credits_once(settings: Any) -> None:
    from studio.accounts.models import User

    settings.DEMO_CREDITS = 1234
    settings.DEBUG = True  # seed_demo refuses outside DEBUG (tests/hardening/test_finding_02_demo_seed_and_secret.py)
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")
    user = User.objects.get(email="demo@studio.local")
    assert personal_wallet(user=user).balance == 1234


def test_seed_demo_grants_credits_to_a_demo_user_made_before_billing(settings: Any) -> None:
    """A var/ database from before billing existed has the demo user but no grant: the next run grants once."""
    from studio.accounts.services import user_create

    settings.DEMO_CREDITS = 500
    settings.DEBUG = True
    user = user_create(email="demo@studio.local", password="x-long-password", verified=True)
    assert personal_wallet(user=user).balance == 0
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")
    assert personal_wallet(user=user).balance == 500


def test_admin_editing_rate_card_creates_new_version(admin_client: Any) -> None:
    card = active_rate_card()
    data = {"note": "cheaper 360p"}
    for cell in card.cells.all():
        data[f"rate_{cell.resolution}_{'audio' if cell.audio else 'silent'}"] = cell.credits_per_second
    data["rate_360p_silent"] = 5
    data.update(
        {
            "cells-TOTAL_FORMS": "8",
            "cells-INITIAL_FORMS": "8",
            "cells-MIN_NUM_FORMS": "0",
            "cells-MAX_NUM_FORMS": "1000",
        }
    )
    for i, cell in enumerate(card.cells.order_by("pk")):
        data[f"cells-{i}-id"] = cell.pk
        data[f"cells-{i}-rate_card"] = card.pk
    response = admin_client.post(f"/admin/billing/ratecard/{card.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    card.refresh_from_db()
    new = RateCard.objects.get(is_active=True)
    assert (card.version, card.is_active, new.version, new.note) == (1, False, 2, "cheaper 360p")
    assert card.cells.get(resolution="360p", audio=False).credits_per_second == 6
    assert new.cells.get(resolution="360p", audio=False).credits_per_second == 5


def test_admin_pages_render(admin_client: Any) -> None:
    funded_wallet(10)
    for model in [
        "ratecard",
        "wallet",
        "ledgertransaction",
        "ledgerentry",
        "hold",
        "holdresolution",
        "teambilling",
        "membercap",
        "creditpack",
        "purchase",
        "chargereversal",
        "stripeevent",
    ]:
        assert admin_client.get(f"/admin/billing/{model}/").status_code == 200, model
    assert admin_client.get("/admin/billing/ratecard/add/").status_code == 200
    assert admin_client.get("/admin/billing/ledgerentry/add/").status_code == 403


def test_beat_runs_reconcile_ledger_and_the_task_is_registered() -> None:
    from studio.celery import app

    entries = [entry for entry in app.conf.beat_schedule.values() if entry["task"] == "billing.tasks.reconcile_ledger"]
    assert len(entries) == 1
    assert "billing.tasks.reconcile_ledger" in app.tasks


def test_staff_reconcile_page_shows_the_problems_and_fixes_nothing(client: Any) -> None:
    wallet = funded_wallet(100)
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert "All consistent." in client.get("/billing/staff/reconcile/").content.decode()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_wallet SET balance = 90 WHERE id = %s", [wallet.pk])
    page = client.get("/billing/staff/reconcile/").content.decode()
    assert "cached balance 90, entries say 100." in page
    assert "All consistent." not in page
    assert Wallet.objects.get(pk=wallet.pk).balance == 90
