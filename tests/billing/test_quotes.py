from __future__ import annotations

import pytest

from billing import ledger
from billing.quotes import quote_job
from billing.wallets import member_cap_set, personal_wallet, team_billing_update, team_wallet
from studio.teams.models import Membership
from tests.conftest import World

pytestmark = pytest.mark.django_db


def test_quote_ok_with_enough_credits(world: World) -> None:
    ledger.grant(wallet=personal_wallet(user=world.member), amount=500, reason="t", created_by=None)
    quote = quote_job(user=world.member, team=world.team, resolution="720p", duration=5, audio=True)
    assert (quote.credits, quote.rate_per_second, quote.seconds, quote.rate_card_version) == (65, 13, 5, 1)
    assert (quote.balance, quote.balance_after, quote.cap_remaining, quote.blocked_reason) == (500, 435, None, "")
    assert quote.wallet_label.startswith("Personal wallet")


def test_quote_blocked_when_short(world: World) -> None:
    ledger.grant(wallet=personal_wallet(user=world.member), amount=20, reason="t", created_by=None)
    quote = quote_job(user=world.member, team=world.team, resolution="360p", duration=5, audio=True)
    assert quote.credits == 40
    assert quote.blocked_reason == "Not enough credits: need 40, have 20."


def test_quote_blocked_for_viewer_and_unknown_resolution(world: World) -> None:
    assert (
        "may not generate"
        in quote_job(user=world.viewer, team=world.team, resolution="360p", duration=5, audio=False).blocked_reason
    )
    assert (
        "Unknown resolution"
        in quote_job(user=world.member, team=world.team, resolution="8k", duration=5, audio=False).blocked_reason
    )


def test_quote_uses_pool_and_reports_cap(world: World) -> None:
    team_billing_update(team=world.team, use_pool=True, monthly_budget=1000)
    pool = team_wallet(team=world.team)
    ledger.grant(wallet=pool, amount=5000, reason="t", created_by=None)
    member_cap_set(membership=Membership.objects.get(team=world.team, user=world.member), monthly_cap=100)
    quote = quote_job(user=world.member, team=world.team, resolution="1080p", duration=5, audio=False)
    assert (quote.wallet_id, quote.credits, quote.cap_remaining) == (pool.pk, 95, 100)
    assert quote.blocked_reason == ""
    quote = quote_job(user=world.member, team=world.team, resolution="1080p", duration=15, audio=True)
    # The hold's own check and message (billing.spending): the quote cannot promise what the hold would refuse.
    assert quote.blocked_reason == (
        "Over the monthly limit: this needs 360 credits but only 100 of your 100-credit monthly cap is left."
    )


def test_quote_price_equals_hold_price(world: World) -> None:
    from billing.metering import price_credits

    for resolution in ["360p", "540p", "720p", "1080p"]:
        q = quote_job(user=world.member, team=world.team, resolution=resolution, duration=15, audio=False)
        assert q.credits == price_credits(seconds=15, resolution=resolution, audio=False)
