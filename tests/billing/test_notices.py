"""Notifications at 80% of a member's cap or the team's budget, and on low balance: in-app AND by email."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from billing import ledger
from billing.wallets import member_cap_set, team_billing_update, team_wallet
from studio.notifications.models import Notification
from studio.teams.models import Membership
from tests.clock import mid_month
from tests.conftest import World

pytestmark = pytest.mark.django_db


def _pool(world: World, *, budget: int | None = None) -> None:
    team_billing_update(team=world.team, use_pool=True, monthly_budget=budget)
    ledger.grant(wallet=team_wallet(team=world.team), amount=10_000, reason="pool", created_by=None)


# A fixed mid-month clock: holds straddling a month's end (23:59:59 on the 31st) would count in two months.
@mid_month()
def test_80_percent_of_a_member_cap_is_notified_in_app_and_by_email_once(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    _pool(world)
    member_cap_set(membership=Membership.objects.get(team=world.team, user=world.member), monthly_cap=100)
    wallet = team_wallet(team=world.team)
    with django_capture_on_commit_callbacks(execute=True):
        ledger.hold(wallet=wallet, amount=79, key="n1", user=world.member, team=world.team)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        ledger.hold(wallet=wallet, amount=1, key="n2", user=world.member, team=world.team)  # exactly 80%
        ledger.hold(wallet=wallet, amount=5, key="n3", user=world.member, team=world.team)  # past it: no repeat
    assert Notification.objects.filter(user=world.member, kind="billing.cap_warning").count() == 1
    assert [m.to for m in mail.outbox] == [[world.member.email]]
    assert "80%" in mail.outbox[0].body or "80%" in mail.outbox[0].subject


def test_80_percent_of_the_team_budget_emails_the_people_who_see_billing(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    _pool(world, budget=100)
    wallet = team_wallet(team=world.team)
    with django_capture_on_commit_callbacks(execute=True):
        ledger.hold(wallet=wallet, amount=85, key="b1", user=world.member, team=world.team)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([world.owner.email, world.admin.email])
    assert Notification.objects.filter(kind="billing.budget_warning").count() == 2
