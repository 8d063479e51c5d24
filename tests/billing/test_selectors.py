"""Usage reports: grouped by the month the credits were charged (the capture), by user/project/resolution/audio/
provider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from billing import ledger
from billing.models import Hold
from billing.selectors import month_totals, usage_rows
from billing.wallets import wallet_for_spending
from tests.conftest import World

pytestmark = pytest.mark.django_db


# A fixed clock: captured at 23:59:59 on a month's last day, the month read after the capture would be the next one.
@time_machine.travel(datetime(2031, 3, 1, 12, 0, tzinfo=UTC), tick=False)
def test_usage_counts_a_job_in_the_month_it_was_captured(world: World) -> None:
    wallet = wallet_for_spending(user=world.member, team=world.team)
    ledger.grant(wallet=wallet, amount=1_000, reason="test", created_by=None)
    hold = ledger.hold(
        wallet=wallet,
        amount=100,
        key="late-job",
        user=world.member,
        team=world.team,
        reference_meta={"project_id": world.project.pk, "resolution": "720p", "audio": True, "provider": "pixverse"},
    )
    # Held last month (e.g. on the 31st), captured now (the 1st): it is this month's usage.
    last_month = timezone.now().replace(day=1) - timedelta(days=1)
    Hold.objects.filter(pk=hold.pk).update(created_at=last_month)
    ledger.capture(hold=hold, amount=65, usage={"seconds": 5.0, "provider": "pixverse"})
    rows = usage_rows(team=world.team)
    assert len(rows) == 1
    row = rows[0]
    now = timezone.localtime()
    assert (row.month.year, row.month.month) == (now.year, now.month)
    assert (row.credits, row.seconds, row.resolution, row.audio, row.provider, row.project) == (
        65,
        5.0,
        "720p",
        True,
        "pixverse",
        world.project.name,
    )
    assert [t.credits for t in month_totals(rows)] == [65]
