"""Client-side request budgets shared by every process (web, workers, beat) through Django's cache.

DashScope allows **20 status queries per second per account** (providers.md §3, RAM users included). The pipeline
schedules polls with a ≥ 5 s floor, but many jobs, the reconciler and webhook-prompted fetches can still line up in
the same second across several workers. The budget is therefore enforced here, in the provider layer, before the
request is sent: past the budget the call raises ``RateLimitedError`` with ``retry_after`` (nothing was sent, so it is
a definite, non-billable refusal) and the poll service re-schedules the poll, exactly as for a provider 429.

Invariant: at most ``limit`` requests per account are *sent* in any one clock second (the window a per-second QPS
limit is counted in). The counter is one cache key per (provider, account, second): ``add`` creates it, ``incr``
claims a slot; both are atomic on Redis (the production cache). With the file cache of a laptop run the count can be
off by a racing claim or two, which only matters against the real API. If the cache is unreachable the budget is not
enforced (logged): a missing cache must not stop every poll, and the provider's own 429 remains the backstop.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from generations.providers.errors import RateLimitedError

logger = logging.getLogger("generations.providers.budget")

_KEY_TTL_SECONDS = 5  # a window's counter outlives its second briefly, then expires on its own


def _now() -> float:
    """Wall-clock seconds: every process must agree on which second it is (tests replace this)."""
    return time.time()


def account_fingerprint(api_key: str) -> str:
    """A short, stable stand-in for an API key (the key itself never goes into a cache key or a log)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


@dataclass
class RequestBudget:
    """At most ``limit`` requests per ``provider`` account per clock second, counted in the shared cache."""

    provider: str
    api_key: str
    limit: int
    what: str = "requests"
    clock: Callable[[], float] | None = None

    def acquire(self) -> None:
        """Claim one request of this second's budget, or raise ``RateLimitedError`` (nothing was sent)."""
        from django.core.cache import cache

        now = (self.clock or _now)()
        second = int(now)
        key = f"providers:budget:{self.provider}:{account_fingerprint(self.api_key)}:{second}"
        try:
            cache.add(key, 0, timeout=_KEY_TTL_SECONDS)
            used = cache.incr(key)
        except Exception:  # the cache is bookkeeping here; the provider's own 429 stays the backstop
            logger.warning("request budget for %s not enforced: cache unavailable", self.provider, exc_info=True)
            return
        if used > self.limit:
            retry_after = max(0.05, second + 1 - now)
            raise RateLimitedError(
                f"client-side budget of {self.limit} {self.what}/s per account reached; not sent",
                provider=self.provider,
                code="client_budget",
                retry_after=retry_after,
            )
