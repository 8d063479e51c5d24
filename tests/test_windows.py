"""``studio.windows``: a subject's window starts at its first count, whatever the clock's multiples."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings

from studio import windows
from tests.clock import MID_MONTH_NOON

# A whole minute: a multiple of every window below, where clock-aligned windows would start a new one.
BOUNDARY = MID_MONTH_NOON


@pytest.fixture(autouse=True)
def local_cache() -> Iterator[None]:
    """A process-local cache, whose expiry follows the (travelled) clock."""
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        cache.clear()
        yield
        cache.clear()


def test_counts_either_side_of_a_clock_boundary_are_one_window_that_ends_a_window_after_the_first() -> None:
    with time_machine.travel(BOUNDARY - timedelta(seconds=0.05), tick=False) as clock:
        first = windows.count("k", seconds=30)
        clock.move_to(BOUNDARY + timedelta(seconds=0.05))
        second = windows.count("k", seconds=30)
        assert (first.total, second.total) == (1, 2)
        assert second.ends_at == first.ends_at == (BOUNDARY - timedelta(seconds=0.05)).timestamp() + 30
        assert windows.count("other", seconds=30).total == 1  # per key


def test_a_new_window_starts_from_zero_once_the_last_one_ended() -> None:
    with time_machine.travel(BOUNDARY, tick=False) as clock:
        assert windows.count("k", 5, seconds=60).total == 5
        clock.move_to(BOUNDARY + timedelta(seconds=59))
        assert windows.count("k", 5, seconds=60).total == 10
        clock.move_to(BOUNDARY + timedelta(seconds=61))
        again = windows.count("k", 5, seconds=60)
        assert again.total == 5 and again.ends_at == (BOUNDARY + timedelta(seconds=121)).timestamp()


def test_uncount_takes_back_what_a_refusal_did_not_use() -> None:
    with time_machine.travel(BOUNDARY, tick=False) as clock:
        counted = windows.count("k", 7, seconds=60)
        windows.uncount(counted, 7)
        assert windows.count("k", 1, seconds=60).total == 1
        clock.move_to(BOUNDARY + timedelta(seconds=120))
        windows.uncount(counted, 1)  # its counter expired with its window: nothing to take back, no error
