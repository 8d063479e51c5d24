"""Every billing page from every side: owner, admin, member, viewer, outsider (404), anonymous (login), staff."""

from __future__ import annotations

import csv
import io

import pytest

from billing import ledger
from billing.models import TeamBilling
from billing.wallets import personal_wallet, team_billing_update, team_wallet
from tests.clock import mid_month
from tests.conftest import World
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "member", "viewer", "outsider"]


def _pages(world: World) -> dict[str, str]:
    t = world.team.pk
    return {
        "wallet": f"/billing/teams/{t}/",
        "pool": f"/billing/teams/{t}/?wallet=pool",
        "usage": f"/billing/teams/{t}/usage/",
        "csv": f"/billing/teams/{t}/usage/?format=csv",
        "buy": f"/billing/teams/{t}/buy/",
        "settings": f"/billing/teams/{t}/settings/",
    }


# page → status per role (owner, admin, member, viewer, outsider), following the Perm table.
EXPECTED = {
    "wallet": [200, 200, 200, 200, 404],
    "pool": [200, 200, 403, 403, 404],
    "usage": [200, 200, 200, 200, 404],
    "csv": [200, 200, 200, 200, 404],
    "buy": [200, 200, 200, 200, 404],
    "settings": [200, 200, 403, 403, 404],
}


@pytest.mark.parametrize("page", list(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_get_pages_per_role(world: World, page: str, role: str) -> None:
    team_billing_update(team=world.team, use_pool=True, monthly_budget=None)
    response = world.client_for(getattr(world, role)).get(_pages(world)[page])
    assert response.status_code == EXPECTED[page][ROLES.index(role)]


@pytest.mark.parametrize("page", ["wallet", "usage", "buy", "settings"])
def test_anonymous_is_sent_to_login(world: World, page: str) -> None:
    response = world.client_for(None).get(_pages(world)[page])
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_named_urls_without_team_use_active_team(world: World) -> None:
    client = world.client_for(world.member)
    for url in ["/billing/", "/billing/usage/", "/billing/buy/"]:
        assert client.get(url).status_code == 200
    assert b"Launch film" not in world.client_for(world.outsider).get("/billing/usage/").content


@pytest.mark.parametrize("role", ROLES)
def test_settings_post_only_owner(world: World, role: str) -> None:
    response = world.client_for(getattr(world, role)).post(
        _pages(world)["settings"], {"action": "pool", "use_pool": "on", "monthly_budget": "500"}
    )
    expected = {"owner": 302, "admin": 403, "member": 403, "viewer": 403, "outsider": 404}[role]
    assert response.status_code == expected
    saved = TeamBilling.objects.filter(team=world.team, use_pool=True, monthly_budget=500).exists()
    assert saved == (role == "owner")


def test_owner_sets_member_cap(world: World) -> None:
    from studio.teams.models import Membership

    membership = Membership.objects.get(team=world.team, user=world.member)
    response = world.client_for(world.owner).post(
        _pages(world)["settings"], {"action": "cap", "membership": membership.pk, "monthly_cap": "300"}
    )
    assert response.status_code == 302
    assert membership.billing_cap.monthly_cap == 300  # type: ignore[attr-defined]


def test_wallet_page_shows_balance_holds_and_history(world: World) -> None:
    wallet = personal_wallet(user=world.member)
    ledger.grant(wallet=wallet, amount=1234, reason="welcome", created_by=None)
    ledger.hold(wallet=wallet, amount=34, key="job-abc", user=world.member, team=world.team, description="Sunset")
    content = world.client_for(world.member).get(_pages(world)["wallet"]).content.decode()
    assert "1,200" in content and "Sunset" in content and "welcome" in content


def test_pool_history_hidden_from_member_but_own_wallet_shown(world: World) -> None:
    team_billing_update(team=world.team, use_pool=True, monthly_budget=None)
    ledger.grant(wallet=team_wallet(team=world.team), amount=777, reason="pool top-up", created_by=None)
    member_page = world.client_for(world.member).get(_pages(world)["wallet"]).content.decode()
    assert "pool top-up" not in member_page and "Personal wallet" in member_page
    owner_page = world.client_for(world.owner).get(_pages(world)["wallet"]).content.decode()
    assert "pool top-up" in owner_page


def _capture(world: World, user_attr: str, key: str, amount: int, seconds: float) -> None:
    user = getattr(world, user_attr)
    wallet = personal_wallet(user=user)
    ledger.grant(wallet=wallet, amount=1000, reason="t", created_by=None)
    hold = ledger.hold(
        wallet=wallet,
        amount=amount,
        key=key,
        user=user,
        team=world.team,
        reference_meta={"project_id": world.project.pk, "resolution": "720p", "audio": False},
    )
    ledger.capture(hold=hold, amount=amount, usage={"seconds": seconds, "provider": "wavespeed"})


# A fixed mid-month clock: captures straddling a month's end would be two months' bars, not one of 150 credits.
@mid_month()
def test_usage_csv_team_wide_for_billing_viewers_own_rows_for_members(world: World) -> None:
    _capture(world, "member", "j1", 50, 5.0)
    _capture(world, "owner", "j2", 100, 10.0)
    owner_csv = world.client_for(world.owner).get(_pages(world)["csv"]).content.decode()
    rows = list(csv.DictReader(io.StringIO(owner_csv)))
    assert {(r["user"], r["credits"], r["seconds"], r["project"], r["provider"]) for r in rows} == {
        (world.member.email, "50", "5", "Launch film", "wavespeed"),
        (world.owner.email, "100", "10", "Launch film", "wavespeed"),
    }
    member_rows = list(
        csv.DictReader(io.StringIO(world.client_for(world.member).get(_pages(world)["csv"]).content.decode()))
    )
    assert [r["user"] for r in member_rows] == [world.member.email]
    page = world.client_for(world.owner).get(_pages(world)["usage"]).content.decode()
    assert "<svg" in page and "150 credits" in page


@pytest.mark.parametrize("url", ["/billing/staff/credit/", "/billing/staff/reconcile/"])
def test_staff_pages_404_for_everyone_but_staff(world: World, url: str) -> None:
    for role in ROLES:
        assert world.client_for(getattr(world, role)).get(url).status_code == 404
    staff = UserFactory(is_staff=True)
    assert world.client_for(staff).get(url).status_code == 200


def test_staff_grant_requires_reason_and_is_recorded(world: World) -> None:
    staff = UserFactory(is_staff=True)
    client = world.client_for(staff)
    url = "/billing/staff/credit/"
    bad = client.post(url, {"email": world.member.email, "action": "grant", "amount": "100", "reason": ""})
    assert bad.status_code == 200
    assert personal_wallet(user=world.member).balance == 0
    ok = client.post(url, {"email": world.member.email, "action": "grant", "amount": "100", "reason": "apology"})
    assert ok.status_code == 302
    refund = client.post(url, {"email": world.member.email, "action": "adjust", "amount": "-30", "reason": "oops"})
    assert refund.status_code == 302
    wallet = personal_wallet(user=world.member)
    assert wallet.balance == 70
    assert list(wallet.transactions.order_by("pk").values_list("reason", "created_by")) == [
        ("apology", staff.pk),
        ("oops", staff.pk),
    ]
