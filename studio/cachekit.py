"""Best-effort caching of what pages show on every request (the bell's unread count, a team's member and project
lists), each saving a query per page.

The cache is an optimisation here, never a dependency: when it is down (a Redis restart) or has evicted a key, the
value is computed from the database as before, and the page is served. Every failure is logged, none is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar, cast

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")

_MISSING = object()


def read_through(key: str, compute: Callable[[], T], *, timeout: int) -> T:
    """``key``'s cached value, else ``compute()``, kept under ``key`` for ``timeout`` seconds."""
    try:
        value = cache.get(key, _MISSING)
    except Exception:  # the backend's own errors (redis.exceptions.ConnectionError, an unreadable cache file)
        logger.warning("cache unavailable reading %s; computing it", key, exc_info=True)
        return compute()
    if value is not _MISSING:
        return cast(T, value)
    value = compute()
    try:
        cache.set(key, value, timeout=timeout)
    except Exception:
        logger.warning("cache unavailable keeping %s", key, exc_info=True)
    return value


def forget_on_commit(key: str) -> None:
    """Drop ``key`` once the current transaction commits (at once outside one), so the next read sees the change.

    A reader that counted just before the commit may put the old value back after this: ``read_through``'s timeout
    bounds how long it can be seen."""

    def forget() -> None:
        try:
            cache.delete(key)
        except Exception:
            logger.warning("cache unavailable forgetting %s; it expires by itself", key, exc_info=True)

    transaction.on_commit(forget)
