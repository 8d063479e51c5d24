from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
import stripe
from django.db import connections
from django.test import Client

from billing.models import EventStatus, LedgerTransaction, Purchase, PurchaseStatus, StripeEvent, TxKind
from billing.reconcile import reconcile
from billing.wallets import personal_wallet
from tests.billing.conftest import (
    FakeStripe,
    event_payload,
    make_pack,
    now,
    post_event,
    session_object,
    sign,
    skip_unless_postgres,
)
from tests.factories import UserFactory


def _purchase(session_id: str = "cs_test_1", *, credits: int = 5000, cents: int = 2500) -> Purchase:
    pack = make_pack(credits)
    wallet = personal_wallet(user=UserFactory())
    return Purchase.objects.create(
        session_id=session_id, wallet=wallet, pack=pack, credits=credits, amount_cents=cents, currency="usd"
    )


def _completed(session_id: str = "cs_test_1", **kwargs: Any) -> str:
    return event_payload("checkout.session.completed", session_object(session_id, **kwargs), event_id="evt_done")


def _balance(purchase: Purchase) -> int:
    purchase.wallet.refresh_from_db()
    return purchase.wallet.balance


@pytest.mark.django_db
def test_completed_replayed_20_times_grants_once(stripe_keys: None) -> None:
    purchase = _purchase()
    client = Client()
    payload = _completed()
    for _ in range(20):
        assert post_event(client, payload).status_code == 200
    assert _balance(purchase) == 5000
    assert LedgerTransaction.objects.filter(kind=TxKind.PURCHASE).count() == 1
    assert StripeEvent.objects.filter(status=EventStatus.PROCESSED, signature_valid=True).count() == 20
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.PAID


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "missing_header", "too_old", "garbage_header"])
def test_invalid_deliveries_are_400_and_change_nothing(stripe_keys: None, case: str) -> None:
    purchase = _purchase()
    payload = _completed()
    client = Client()
    if case == "tampered":
        signature = sign(payload)
        payload = payload.replace('"amount_total": 2500', '"amount_total": 1')
    elif case == "wrong_secret":
        signature = sign(payload, secret="whsec_someone_else")
    elif case == "missing_header":
        signature = None
    elif case == "too_old":
        signature = sign(payload, timestamp=now() - 301)
    else:
        signature = "t=abc,v1=zzz"
    response = post_event(client, payload, signature=signature)
    assert response.status_code == 400
    assert _balance(purchase) == 0
    assert not LedgerTransaction.objects.filter(kind=TxKind.PURCHASE).exists()
    delivery = StripeEvent.objects.get()
    assert (delivery.status, delivery.signature_valid, delivery.body) == (EventStatus.INVALID, False, payload)


@pytest.mark.django_db
def test_timestamp_299_seconds_old_is_accepted(stripe_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Stripe's check reads the clock when the request arrives: pinned, so that a slow machine (a second between
    # signing and checking) cannot turn 299 s into 300.
    signed_at = now()
    monkeypatch.setattr(stripe._webhook, "time", SimpleNamespace(time=lambda: signed_at))
    purchase = _purchase()
    payload = _completed()
    assert post_event(Client(), payload, signature=sign(payload, timestamp=signed_at - 299)).status_code == 200
    assert _balance(purchase) == 5000


@pytest.mark.django_db
def test_webhook_without_secret_configured_refuses(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ""
    purchase = _purchase()
    assert post_event(Client(), _completed()).status_code == 400
    assert _balance(purchase) == 0


@pytest.mark.django_db
def test_unhandled_event_type_is_stored_as_ignored(stripe_keys: None) -> None:
    payload = event_payload("customer.created", {"id": "cus_1"})
    assert post_event(Client(), payload).status_code == 200
    assert StripeEvent.objects.get().status == EventStatus.IGNORED


@pytest.mark.django_db
def test_processing_failure_is_stored_and_answered_500(stripe_keys: None) -> None:
    payload = event_payload("charge.refunded", {"id": "ch_1", "amount_refunded": 100})  # no payment_intent
    assert post_event(Client(), payload).status_code == 500
    delivery = StripeEvent.objects.get()
    assert delivery.status == EventStatus.FAILED and "payment_intent" in delivery.error


@pytest.mark.django_db
def test_unpaid_completion_grants_nothing_until_async_success(stripe_keys: None) -> None:
    purchase = _purchase()
    client = Client()
    post_event(client, _completed(payment_status="unpaid"))
    assert _balance(purchase) == 0
    paid = event_payload("checkout.session.async_payment_succeeded", session_object("cs_test_1"), event_id="evt_2")
    post_event(client, paid)
    assert _balance(purchase) == 5000


@pytest.mark.django_db
def test_async_failure_marks_purchase_failed(stripe_keys: None) -> None:
    purchase = _purchase()
    failed = session_object("cs_test_1", payment_status="unpaid")
    post_event(Client(), event_payload("checkout.session.async_payment_failed", failed))
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.FAILED and _balance(purchase) == 0


def _events(session_id: str = "cs_test_1") -> dict[str, str]:
    return {
        "completed": event_payload(
            "checkout.session.completed", session_object(session_id, payment_status="unpaid"), event_id="evt_c"
        ),
        "async_succeeded": event_payload(
            "checkout.session.async_payment_succeeded", session_object(session_id), event_id="evt_a"
        ),
        "refunded": event_payload(
            "charge.refunded",
            {"id": "ch_1", "object": "charge", "payment_intent": "pi_1", "amount_refunded": 1000, "refunded": False},
            event_id="evt_r",
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("order", list(itertools.permutations(["completed", "async_succeeded", "refunded"])))
def test_every_order_of_events_ends_at_same_balance(stripe_keys: None, order: tuple[str, ...]) -> None:
    purchase = _purchase()  # 5000 credits for $25.00; $10.00 refunded → 2000 credits back
    events = _events()
    client = Client()
    for name in order:
        assert post_event(client, events[name]).status_code == 200
    for name in order:  # and every event delivered twice
        assert post_event(client, events[name]).status_code == 200
    assert _balance(purchase) == 3000
    assert reconcile().ok


@pytest.mark.django_db
def test_refund_after_spending_records_debt_and_blocks_holds(stripe_keys: None) -> None:
    from billing import ledger
    from billing.errors import OutstandingDebt

    purchase = _purchase()
    client = Client()
    post_event(client, _completed())
    wallet = purchase.wallet
    hold = ledger.hold(wallet=wallet, amount=4000, key="job-1", user=wallet.user, team=None)
    ledger.capture(hold=hold, amount=4000)
    full_refund = {"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 2500}
    post_event(client, event_payload("charge.refunded", full_refund, event_id="evt_r"))
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.debt) == (0, 4000)
    with pytest.raises(OutstandingDebt, match="owes 4000 credits"):
        ledger.hold(wallet=wallet, amount=1, key="job-2", user=wallet.user, team=None)
    # The next credit pays the debt first.
    ledger.grant(wallet=wallet, amount=5000, reason="goodwill", created_by=None)
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.debt) == (1000, 0)
    assert reconcile().ok


@pytest.mark.django_db
def test_dispute_takes_credits_back_and_freezes(stripe_keys: None) -> None:
    purchase = _purchase()
    client = Client()
    post_event(client, _completed())
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1", "amount": 2500}
    for _ in range(3):
        post_event(client, event_payload("charge.dispute.created", dispute, event_id="evt_d"))
    wallet = purchase.wallet
    wallet.refresh_from_db()
    assert wallet.balance == 0 and wallet.frozen
    assert LedgerTransaction.objects.filter(kind=TxKind.DISPUTE).count() == 1


@pytest.mark.django_db
def test_success_page_fulfils_through_gateway_once(fake_stripe: FakeStripe) -> None:
    from billing.purchases import checkout_start

    user = UserFactory()
    wallet = personal_wallet(user=user)
    pack = make_pack(1000)
    session = checkout_start(
        wallet=wallet, pack=pack, user=user, success_url="http://x/?s={CHECKOUT_SESSION_ID}", cancel_url="http://x/"
    )
    client = Client()
    client.force_login(user)
    url = f"/billing/buy/success/?session_id={session.id}"
    assert b"being processed" in client.get(url).content  # not paid yet
    fake_stripe.pay(session.id)
    for _ in range(3):
        assert b"1000 credits were added" in client.get(url).content
    webhook = event_payload(
        "checkout.session.completed", session_object(session.id, payment_intent="pi_paid"), event_id="evt_x"
    )
    assert post_event(client, webhook).status_code == 200
    wallet.refresh_from_db()
    assert wallet.balance == 1000
    assert LedgerTransaction.objects.filter(kind=TxKind.PURCHASE).count() == 1
    # Someone else's success page: 404, nothing changes.
    other = Client()
    other.force_login(UserFactory())
    assert other.get(url).status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_webhooks_and_success_page_grant_once(fake_stripe: FakeStripe) -> None:
    skip_unless_postgres()
    from billing.purchases import checkout_start

    user = UserFactory()
    wallet = personal_wallet(user=user)
    pack = make_pack(5000)
    session = checkout_start(
        wallet=wallet, pack=pack, user=user, success_url="http://x/{CHECKOUT_SESSION_ID}", cancel_url="http://x/"
    )
    fake_stripe.pay(session.id, payment_intent="pi_c")
    payload = event_payload("checkout.session.completed", session_object(session.id, payment_intent="pi_c"))

    def deliver(i: int) -> int:
        try:
            if i % 10 == 9:
                client = Client()
                client.force_login(user)
                return client.get(f"/billing/buy/success/?session_id={session.id}").status_code
            return post_event(Client(), payload).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(deliver, range(20)))  # 18 webhooks + 2 success pages, 10 at a time
    codes += [post_event(Client(), payload).status_code for _ in range(2)]  # 20 webhooks in all
    assert codes == [200] * 22
    wallet.refresh_from_db()
    assert wallet.balance == 5000
    assert LedgerTransaction.objects.filter(kind=TxKind.PURCHASE).count() == 1
    assert reconcile().ok
    assert json.loads(StripeEvent.objects.first().body)["type"] == "checkout.session.completed"  # type: ignore[union-attr]
