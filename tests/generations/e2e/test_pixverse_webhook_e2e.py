"""A PixVerse job finishes through its webhook (providers.md §10), with a real worker and the emulator on a socket.

The worker polls so slowly here (first poll after 45 s) that the job can only finish inside the deadline if the
emulator's signed webhook reaches our endpoint, verifies, and prompts a poll: the poll is still what moves the job.
"""

from __future__ import annotations

import pytest

from billing.models import HoldState
from generations.providers.base import Mode
from generations.states import State
from tests.generations.e2e.helpers import assert_playable, create
from tests.generations.helpers import fund, make_asset

pytestmark = [pytest.mark.e2e]

WEBHOOK_ID = "wh_e2e"
WEBHOOK_SECRET = "pixverse-e2e-secret"


@pytest.fixture
def worker_env() -> dict[str, str]:
    return {
        "GENERATIONS_POLL_BASE_SECONDS": "45",
        "GENERATIONS_POLL_MAX_SECONDS": "90",
        "GENERATIONS_STUCK_SECONDS": "120",
        "PIXVERSE_WEBHOOK_ID": WEBHOOK_ID,
        "PIXVERSE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def test_a_pixverse_job_completes_through_a_webhook_prompted_poll(e2e, world, settings):
    # Our side (the live server answering the webhook) knows the console webhook's secret; the emulator delivers there.
    settings.PROVIDERS = {
        **settings.PROVIDERS,
        "pixverse": {**settings.PROVIDERS["pixverse"], "WEBHOOK_ID": WEBHOOK_ID, "WEBHOOK_SECRET": WEBHOOK_SECRET},
    }
    e2e.emulator.control(
        "POST",
        "config",
        json={
            "pixverse_webhook_id": WEBHOOK_ID,
            "pixverse_webhook_secret": WEBHOOK_SECRET,
            "pixverse_webhook_url": f"{e2e.live_server_url}/generations/webhooks/pixverse/",
        },
    )
    fund(world.member, world.team, 100_000)
    cat = make_asset(world.team, ref_name="cat")
    job = create(world, Mode.TEXT_TO_VIDEO, "pixverse", cat, cat, prompt="a webhook-driven title card")
    e2e.wait([job], deadline=40.0)
    assert job.state == State.SUCCEEDED, (job.error_code, job.error_message, e2e.worker.tail())
    assert_playable(job)
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.CAPTURED
    (delivery,) = [d for d in e2e.emulator.control("GET", "webhooks").json()["webhooks"] if d["provider"] == "pixverse"]
    assert delivery["acknowledged"] is True  # our endpoint answered HTTP 200 "ok"
    assert delivery["reply"] == "ok"
    # Only the webhook could have prompted the poll in time: the chain's own first poll was 45 s away.
    assert job.poll_count <= 2
    assert e2e.emulator.accepted(job.pk) == 1
