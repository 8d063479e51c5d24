"""Checkout Session creation against a local fake of Stripe's API: what the SDK actually sends."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import Purchase, PurchaseStatus
from billing.wallets import personal_wallet, team_billing_update, team_wallet
from tests.billing.conftest import SECRET_KEY, FakeStripe, make_pack
from tests.conftest import World

pytestmark = pytest.mark.django_db


def test_buy_creates_checkout_session_with_our_fields(world: World, fake_stripe: FakeStripe) -> None:
    pack = make_pack(5000)
    client = world.client_for(world.member)
    response = client.post(f"/billing/teams/{world.team.pk}/buy/", {"pack": pack.pk, "target": "personal"})
    assert response.status_code == 302
    assert response["Location"] == "https://checkout.stripe.test/pay/cs_test_1"
    [request] = fake_stripe.requests
    form: dict[str, Any] = request["form"]
    wallet = personal_wallet(user=world.member)
    assert (request["method"], request["path"]) == ("POST", "/v1/checkout/sessions")
    assert request["auth"] == f"Bearer {SECRET_KEY}"
    assert form["mode"] == "payment"
    assert form["line_items[0][quantity]"] == "1"
    assert form["line_items[0][price_data][unit_amount]"] == "2500"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["line_items[0][price_data][product_data][name]"] == "Creator"
    assert form["success_url"] == "http://testserver/billing/buy/success/?session_id={CHECKOUT_SESSION_ID}"
    assert form["cancel_url"] == f"http://testserver/billing/teams/{world.team.pk}/buy/"
    assert form["client_reference_id"] == f"wallet-{wallet.pk}"
    assert form["metadata[wallet_id]"] == str(wallet.pk)
    assert form["metadata[pack_id]"] == str(pack.pk)
    assert form["payment_intent_data[metadata][wallet_id]"] == str(wallet.pk)
    assert form["customer_email"] == world.member.email
    purchase = Purchase.objects.get(session_id="cs_test_1")
    assert (purchase.wallet, purchase.credits, purchase.status) == (wallet, 5000, PurchaseStatus.PENDING)


def test_member_cannot_buy_for_team_pool_but_owner_can(world: World, fake_stripe: FakeStripe) -> None:
    team_billing_update(team=world.team, use_pool=True, monthly_budget=None)
    pack = make_pack(1000)
    url = f"/billing/teams/{world.team.pk}/buy/"
    assert world.client_for(world.member).post(url, {"pack": pack.pk, "target": "pool"}).status_code == 403
    assert world.client_for(world.admin).post(url, {"pack": pack.pk, "target": "pool"}).status_code == 403
    assert fake_stripe.requests == []
    assert world.client_for(world.owner).post(url, {"pack": pack.pk, "target": "pool"}).status_code == 302
    pool = team_wallet(team=world.team)
    assert fake_stripe.requests[0]["form"]["metadata[wallet_id]"] == str(pool.pk)


def test_without_stripe_key_buy_page_says_not_configured(world: World, settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = ""
    client = world.client_for(world.member)
    page = client.get(f"/billing/teams/{world.team.pk}/buy/")
    assert page.status_code == 200
    assert b"Purchasing is not configured" in page.content
    pack = make_pack(1000)
    client.post(f"/billing/teams/{world.team.pk}/buy/", {"pack": pack.pk, "target": "personal"})
    assert not Purchase.objects.exists()


def test_system_check_refuses_key_without_webhook_secret(settings: Any) -> None:
    from billing.checks import check_stripe_settings

    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert [e.id for e in check_stripe_settings()] == ["billing.E001"]
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    assert check_stripe_settings() == []
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert check_stripe_settings() == []


def test_system_check_is_registered(settings: Any) -> None:
    from django.core import checks

    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert "billing.E001" in [m.id for m in checks.run_checks()]
