"""Live checks against the real pixverse API.

Skipped unless PIXVERSE_API_KEY is set; the paid check also needs LIVE_SPEND=1. The balance read is free.
"""

from __future__ import annotations

import os

import pytest

from tests.providers.live._live import check_paid_job, check_poll_unknown_id, live_adapter

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("PIXVERSE_API_KEY"), reason="PIXVERSE_API_KEY is not set"),
]


def test_poll_of_an_unknown_id_is_classified() -> None:
    check_poll_unknown_id("pixverse")


def test_one_paid_job_end_to_end() -> None:
    check_paid_job("pixverse")


def test_the_account_balance_is_read() -> None:
    """``GET /account/balance``: the provider's own view of what we have left (reconciliation's live cross-check)."""
    assert live_adapter("pixverse").balance() >= 0
