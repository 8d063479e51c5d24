"""The monthly spend counters (``MonthlySpend``) are a cache of the holds: a hypothesis state machine of holds,
captures and releases from a team pool (two members, a member cap and a team budget) and a personal wallet, across
month boundaries, checks after every step that every counter equals the sum of its holds, that the spending check's
caps read from the counters agree with the SUM scans, and that ``reconcile_ledger`` finds nothing wrong.

The clock is moved with time-machine from a fixed start, so nothing depends on today's date."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from billing import ledger
from billing.errors import CapExceeded, HoldAlreadyResolved, InsufficientCredits
from billing.models import Hold, MonthlySpend
from billing.reconcile import reconcile, spend_counter_mismatches, spend_sums
from billing.wallets import (
    cap_status,
    member_cap_set,
    month_start,
    personal_wallet,
    pool_spent_this_month,
    team_billing_update,
    team_wallet,
)
from studio.teams.models import Membership, Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory

EXAMPLES = int(os.environ.get("BILLING_STATEFUL_EXAMPLES", "100"))
#: Late on the last day of a month, so a few steps cross into the next one (and a year end is two months away).
START = datetime(2031, 10, 31, 23, 0, tzinfo=UTC)
CAP = 900
BUDGET = 1500


class SpendMachine(RuleBasedStateMachine):
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.clock = START
        self._traveller = time_machine.travel(self.clock, tick=False)
        self._traveller.start()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.team = TeamFactory()
        self.members = [UserFactory(), UserFactory()]
        for user in self.members:
            MembershipFactory(team=self.team, user=user, role=Role.MEMBER)
        team_billing_update(team=self.team, use_pool=True, monthly_budget=BUDGET)
        member_cap_set(membership=Membership.objects.get(team=self.team, user=self.members[0]), monthly_cap=CAP)
        self.pool = team_wallet(team=self.team)
        self.personal = personal_wallet(user=self.members[1])
        ledger.grant(wallet=self.pool, amount=100_000, reason="test", created_by=None)
        ledger.grant(wallet=self.personal, amount=2_000, reason="test", created_by=None)
        self.counter = 0

    def teardown(self) -> None:
        try:
            report = reconcile()
            assert report.ok, report.summary()
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)
            self._traveller.stop()

    def _travel(self, to: datetime) -> None:
        self._traveller.stop()
        self.clock = to
        self._traveller = time_machine.travel(to, tick=False)
        self._traveller.start()

    @rule(minutes=st.sampled_from([1, 20, 90, 60 * 24 * 12]))
    def time_passes(self, minutes: int) -> None:
        self._travel(self.clock + timedelta(minutes=minutes))

    @rule(target=holds, who=st.integers(0, 1), pool=st.booleans(), amount=st.integers(1, 700))
    def hold(self, who: int, pool: bool, amount: int) -> str:
        self.counter += 1
        key = f"job-{id(self)}-{self.counter}"
        user = self.members[who]
        wallet = self.pool if pool else self.personal
        team = self.team if pool else None
        # What the SUM scans (the source of truth) say is left: the refusal must follow them exactly.
        spent_member = pool_spent_this_month(wallet=self.pool, user=user)
        spent_team = pool_spent_this_month(wallet=self.pool)
        over_cap = pool and who == 0 and spent_member + amount > CAP
        over_budget = pool and spent_team + amount > BUDGET
        wallet.refresh_from_db()
        try:
            ledger.hold(wallet=wallet, amount=amount, key=key, user=user, team=team)
        except CapExceeded:
            assert over_cap or over_budget
        except InsufficientCredits:
            assert not (over_cap or over_budget) and wallet.balance < amount
        else:
            assert not (over_cap or over_budget)
        return key

    @rule(key=holds, fraction=st.sampled_from([0.0, 0.5, 1.0]))
    def capture(self, key: str, fraction: float) -> None:
        hold = Hold.objects.filter(key=key).first()
        if hold is None:
            return
        try:
            ledger.capture(hold=hold, amount=int(hold.amount * fraction))
        except HoldAlreadyResolved:
            assert hold.state != "open"

    @rule(key=holds)
    def release(self, key: str) -> None:
        hold = Hold.objects.filter(key=key).first()
        if hold is None:
            return
        try:
            ledger.release(hold=hold, reason="failed")
        except HoldAlreadyResolved:
            assert hold.state != "open"

    @invariant()
    def counters_equal_the_sums(self) -> None:
        assert spend_counter_mismatches() == []
        expected = spend_sums()
        month = month_start().date()
        counter = MonthlySpend.objects.filter(month=month, wallet=self.pool, user__isnull=True).first()
        assert (counter.spent if counter else 0) == expected.get((self.pool.pk, month, None), 0)

    @invariant()
    def the_check_reads_what_the_scans_say(self) -> None:
        for user in self.members:
            caps = cap_status(wallet=self.pool, user=user, team=self.team)
            assert caps is not None
            assert caps.team_spent == pool_spent_this_month(wallet=self.pool)
            if caps.member_cap is not None:
                assert caps.member_spent == pool_spent_this_month(wallet=self.pool, user=user)


@pytest.mark.django_db
def test_spend_counters_equal_the_ledger_sums() -> None:
    run_state_machine_as_test(
        SpendMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )


@pytest.mark.django_db
def test_a_hold_counts_in_the_month_it_was_placed_also_when_resolved_next_month(world) -> None:
    team_billing_update(team=world.team, use_pool=True, monthly_budget=1000)
    pool = team_wallet(team=world.team)
    ledger.grant(wallet=pool, amount=5000, reason="t", created_by=None)
    with time_machine.travel(datetime(2030, 12, 31, 23, 59, tzinfo=UTC), tick=False):
        hold = ledger.hold(wallet=pool, amount=800, key="job-dec", user=world.member, team=world.team)
        assert cap_status(wallet=pool, user=world.member, team=world.team).team_spent == 800  # type: ignore[union-attr]
    with time_machine.travel(datetime(2031, 1, 1, 0, 1, tzinfo=UTC), tick=False):
        # A new month (and year): December's hold does not count against January's budget …
        assert cap_status(wallet=pool, user=world.member, team=world.team).team_spent == 0  # type: ignore[union-attr]
        ledger.hold(wallet=pool, amount=900, key="job-jan", user=world.member, team=world.team)
        # … and releasing it now moves December's counter, not January's.
        ledger.release(hold=hold, reason="failed")
        assert cap_status(wallet=pool, user=world.member, team=world.team).team_spent == 900  # type: ignore[union-attr]
    assert MonthlySpend.objects.get(wallet=pool, month=date(2030, 12, 1), user__isnull=True).spent == 0
    assert spend_counter_mismatches() == []


@pytest.mark.django_db
def test_reconcile_reports_a_counter_that_drifted(world) -> None:
    team_billing_update(team=world.team, use_pool=True, monthly_budget=None)
    wallet = team_wallet(team=world.team)
    ledger.grant(wallet=wallet, amount=500, reason="t", created_by=None)
    ledger.hold(wallet=wallet, amount=100, key="job-1", user=world.member, team=world.team)
    assert not MonthlySpend.objects.filter(wallet=personal_wallet(user=world.member)).exists()
    assert reconcile().ok
    MonthlySpend.objects.filter(wallet=wallet, user__isnull=True).update(spent=7)
    report = reconcile()
    assert not report.ok
    assert any("spend counter says 7, the holds say 100" in problem for problem in report.counter_mismatches)
