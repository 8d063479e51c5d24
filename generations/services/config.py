"""The pipeline's timing knobs, read from ``settings.GENERATIONS_*`` (set in the Celery block of settings.py).

Defaults are production values; tests and the end-to-end worker shorten them through the environment.
"""

from __future__ import annotations

from django.conf import settings


def _float(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _int(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def poll_base_seconds() -> float:
    return _float("GENERATIONS_POLL_BASE_SECONDS", 2.0)


def poll_max_seconds() -> float:
    """Cap of the poll backoff. Always far below the broker's visibility timeout (countdown tasks wait unacked)."""
    return _float("GENERATIONS_POLL_MAX_SECONDS", 30.0)


def provider_min_poll_seconds(provider: str) -> float:
    """The provider's floor for the poll interval (never above the cap, so short test timelines stay short)."""
    from generations.providers.registry import ADAPTERS  # the adapter carries it (``min_poll_seconds``)

    adapter = ADAPTERS.get(provider)
    return min(adapter.min_poll_seconds if adapter else 0.0, poll_max_seconds())


def requeue_base_seconds() -> float:
    return _float("GENERATIONS_REQUEUE_BASE_SECONDS", 5.0)


def max_submit_attempts() -> int:
    """How many definite refusals (429, 500044, 5xx, connect failures) a job survives at one provider before it fails
    and its hold is released. A failover starts the count again at the next provider."""
    return _int("GENERATIONS_MAX_SUBMIT_ATTEMPTS", 20)


def max_poll_errors() -> int:
    """Consecutive unreadable/refused poll answers (not transient ones) before the job is failed."""
    return _int("GENERATIONS_MAX_POLL_ERRORS", 10)


def max_finalize_attempts() -> int:
    return _int("GENERATIONS_MAX_FINALIZE_ATTEMPTS", 5)


def stuck_seconds() -> float:
    """How long a job may sit in submitting/downloading, or past its next poll, before the reconciler steps in."""
    return _float("GENERATIONS_STUCK_SECONDS", 120.0)


def unknown_grace_seconds() -> float:
    """How long an ``unknown`` job without a provider id waits before it is failed and released."""
    return _float("GENERATIONS_UNKNOWN_GRACE_SECONDS", 900.0)


def provider_horizon_seconds() -> float:
    """Jobs older than this at the provider are expired (DashScope forgets task ids after 24 h)."""
    return _float("GENERATIONS_PROVIDER_HORIZON_SECONDS", 24 * 3600.0)


def queue_horizon_seconds() -> float:
    """Queued jobs older than this are expired and released (a provider that stays down for a day)."""
    return _float("GENERATIONS_QUEUE_HORIZON_SECONDS", 24 * 3600.0)


def circuit_threshold() -> int:
    return _int("GENERATIONS_CIRCUIT_THRESHOLD", 5)


def circuit_cooldown_seconds() -> float:
    return _float("GENERATIONS_CIRCUIT_COOLDOWN_SECONDS", 60.0)


def submit_give_up_seconds() -> float:
    """How long a job may keep being refused by its provider (5xx, 429, 500044, connection failures) before it fails
    and its hold is released, counted from when it was queued: a bounded wait whatever the attempt count."""
    return _float("GENERATIONS_SUBMIT_GIVE_UP_SECONDS", 600.0)


# --- The poll engine (generations/services/poll.py) -----------------------------------------------------------------


def poll_dense_seconds() -> float:
    """Poll interval around a job's expected finish (never below the provider's floor)."""
    return _float("GENERATIONS_POLL_DENSE_SECONDS", 1.0)


def poll_sweep_seconds() -> float:
    """How often beat starts a sweep of due polls."""
    return _float("GENERATIONS_POLL_SWEEP_SECONDS", 1.0)


def poll_sweep_budget_seconds() -> float:
    """How long one sweep task keeps claiming batches while jobs are due (then the next beat tick takes over)."""
    return _float("GENERATIONS_POLL_SWEEP_BUDGET_SECONDS", 10.0)


def poll_lease_seconds() -> float:
    """How far a claim moves a job's due time: longer than a batch can take (HTTP read timeout 30 s), so a job is
    never claimed twice while its poll is in flight, and short, so a job whose worker died is due again soon."""
    return _float("GENERATIONS_POLL_LEASE_SECONDS", 60.0)


def poll_batch_size() -> int:
    return _int("GENERATIONS_POLL_BATCH_SIZE", 200)


def poll_concurrency() -> int:
    """Threads per worker process that send status calls (the seam's httpx client pools their connections)."""
    return _int("GENERATIONS_POLL_CONCURRENCY", 16)
