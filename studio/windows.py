"""Counting in windows in the shared cache, for limits: the API's per-token rates, the uploads' pixel budget.

A subject's window starts at its first count after its last window ended and lasts ``seconds`` (as GitHub's API
counts). Windows aligned to the clock instead would put two quick actions either side of a boundary in two windows,
letting both through a limit of one. Every web process counts together.
Unlike ``cachekit``, a cache error is raised: a limit must not pass silently.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Window:
    """A subject's current window after a count: the total counted in it (this count included) and when it ends
    (``time.time()``)."""

    counter: str
    total: int
    ends_at: float


def count(key: str, amount: int = 1, *, seconds: int) -> Window:
    """Count ``amount`` in ``key``'s current window of ``seconds`` (starting one if there is none)."""
    now = time.time()
    started = float(cache.get_or_set(f"{key}:start", now, timeout=seconds) or now)
    counter = f"{key}:{started!r}"  # one counter per window: a new window starts from zero
    cache.add(counter, 0, timeout=seconds + 5)
    try:
        total = cache.incr(counter, amount)
    except ValueError:  # evicted between add and incr
        cache.set(counter, amount, timeout=seconds + 5)
        total = amount
    return Window(counter=counter, total=total, ends_at=started + seconds)


def uncount(window: Window, amount: int = 1) -> None:
    """Take back ``amount`` counted in ``window`` (what a refusal did not use)."""
    with contextlib.suppress(ValueError):  # the window ended and its counter expired: nothing left to take back
        cache.decr(window.counter, amount)
