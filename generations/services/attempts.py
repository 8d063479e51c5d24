"""Attempt rows: one ``ProviderAttempt`` per HTTP exchange, fed by the HTTP seam's ``record_exchanges`` hook."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from uuid import UUID

from generations.models import ProviderAttempt
from generations.providers import http
from generations.providers.http import Exchange


@contextlib.contextmanager
def recording(job_id: UUID) -> Iterator[None]:
    """Store every provider exchange made inside the block as an attempt row of ``job_id``.

    Rows are written as the exchanges happen (autocommit outside the caller's transactions), so a create that was
    sent is on record even if the worker dies right after it.
    """

    def store(exchange: Exchange) -> None:
        ProviderAttempt.objects.create(
            job_id=job_id,
            provider=exchange.provider,
            method=exchange.method[:8],
            path=exchange.path[:300],
            status_code=exchange.status_code,
            latency_ms=max(0, exchange.latency_ms),
            error_class=exchange.error_class[:60],
            is_create=exchange.is_create,
        )

    with http.record_exchanges(store):
        yield
