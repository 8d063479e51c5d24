"""Live checks against the real wavespeed API.

Skipped unless WAVESPEED_API_KEY is set; the paid check also needs LIVE_SPEND=1.
"""

from __future__ import annotations

import os

import pytest

from tests.providers.live._live import check_paid_job, check_poll_unknown_id

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("WAVESPEED_API_KEY"), reason="WAVESPEED_API_KEY is not set"),
]


def test_poll_of_an_unknown_id_is_classified() -> None:
    check_poll_unknown_id("wavespeed")


def test_one_paid_job_end_to_end() -> None:
    check_paid_job("wavespeed")
