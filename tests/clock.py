"""A fixed clock for tests whose result would otherwise depend on when they run: fixtures a few seconds apart that
could straddle midnight or a month's end, or a step that must finish before a deadline on a slow machine."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

MID_MONTH_NOON = datetime(2031, 3, 12, 12, 0, tzinfo=UTC)
"""Noon on the 12th: half a day from midnight and days from either end of the month."""


def mid_month(*, tick: bool = False) -> time_machine.travel:
    """Run the decorated test (or the ``with`` block) from ``MID_MONTH_NOON``; the clock stands still unless
    ``tick``."""
    return time_machine.travel(MID_MONTH_NOON, tick=tick)
