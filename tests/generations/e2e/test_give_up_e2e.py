"""Dead end (issue 10), end to end: a job on a named provider that keeps answering HTTP 500 (``#error500``) used to
sit "Queued" for over 10 minutes. With a real worker configured only through the environment, it now gives up after
``GENERATIONS_SUBMIT_GIVE_UP_SECONDS`` of refusals, long before its attempt count runs out, and releases the hold."""

from __future__ import annotations

import pytest

from billing.models import HoldState
from generations.providers.base import Mode
from generations.states import State
from tests.generations.e2e.helpers import create
from tests.generations.helpers import balance, fund, make_asset

pytestmark = [pytest.mark.e2e]

GIVE_UP_SECONDS = 4


@pytest.fixture
def worker_env() -> dict[str, str]:
    return {
        "GENERATIONS_SUBMIT_GIVE_UP_SECONDS": str(GIVE_UP_SECONDS),
        "GENERATIONS_MAX_SUBMIT_ATTEMPTS": "1000",  # only the time bound can end it
        "GENERATIONS_CIRCUIT_THRESHOLD": "1000",
    }


def test_a_named_provider_that_keeps_refusing_is_given_up_on_in_bounded_time(e2e, world):
    fund(world.member, world.team, 10_000)
    cat, park = make_asset(world.team, ref_name="cat"), make_asset(world.team, ref_name="park", colour=(30, 160, 60))
    before = balance(world.member, world.team)
    job = create(world, Mode.TEXT_TO_VIDEO, "wavespeed", cat, park, prompt="a storm at sea #error500")
    e2e.wait([job], deadline=60)
    assert job.state == State.FAILED, (job.state, job.error_message)
    assert "kept refusing" in job.error_message and "returned your credits" in job.error_message
    assert 2 <= job.submit_attempts < 50
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.RELEASED
    assert balance(world.member, world.team) == before
    assert e2e.emulator.accepted(job.pk) == 0
