"""DashScope's 20 status queries per second per account, enforced client-side before anything is sent.

The budget lives in the shared cache (Redis in production), so it holds across adapter instances, processes and
workers; these tests build a fresh adapter for every poll, as the pipeline does.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache

from generations.providers import budget as budget_module
from generations.providers.base import Mode
from generations.providers.budget import RequestBudget
from generations.providers.dashscope import STATUS_QUERIES_PER_SECOND
from generations.providers.errors import RateLimitedError
from tests.conftest import require_in_ci
from tests.providers.conftest import MockProvider, job_spec, make_adapter
from tests.providers.payloads import dashscope_task


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1_700_000_000.25]
    monkeypatch.setattr(budget_module, "_now", lambda: now[0])
    return now


def _always_running(mock_transport: MockProvider) -> None:
    mock_transport.handler = lambda request: httpx.Response(200, json=dashscope_task("RUNNING"))


def test_the_documented_limit_is_20_per_second() -> None:
    assert STATUS_QUERIES_PER_SECOND == 20


def test_the_21st_status_query_in_a_second_is_refused_without_being_sent(
    mock_transport: MockProvider, frozen_clock: list[float]
) -> None:
    _always_running(mock_transport)
    for _ in range(20):
        make_adapter("dashscope").poll("task-1")  # a new adapter each time: the budget is not per instance
    with pytest.raises(RateLimitedError) as caught:
        make_adapter("dashscope").poll("task-1")
    assert len(mock_transport.requests) == 20, "the refused query must not reach DashScope"
    assert caught.value.provider == "dashscope" and caught.value.code == "client_budget"
    assert caught.value.retry_after == pytest.approx(0.75)
    frozen_clock[0] += 0.75  # the next second has a fresh budget
    make_adapter("dashscope").poll("task-1")
    assert len(mock_transport.requests) == 21


def test_each_account_has_its_own_budget(mock_transport: MockProvider, frozen_clock: list[float]) -> None:
    _always_running(mock_transport)
    for _ in range(20):
        make_adapter("dashscope", api_key="sk-account-a").poll("t")
    with pytest.raises(RateLimitedError):
        make_adapter("dashscope", api_key="sk-account-a").poll("t")
    make_adapter("dashscope", api_key="sk-account-b").poll("t")
    assert len(mock_transport.requests) == 21


def test_creates_are_not_counted_against_the_status_budget(
    mock_transport: MockProvider, frozen_clock: list[float]
) -> None:
    mock_transport.handler = lambda request: httpx.Response(200, json=dashscope_task("PENDING"))
    for _ in range(25):
        make_adapter("dashscope").submit(job_spec(Mode.IMAGE_TO_VIDEO))
    assert len(mock_transport.requests) == 25


def test_the_limit_can_be_lowered_in_settings(
    mock_transport: MockProvider, frozen_clock: list[float], settings: Any
) -> None:
    settings.DASHSCOPE_STATUS_QPS = 2
    _always_running(mock_transport)
    make_adapter("dashscope").poll("t")
    make_adapter("dashscope").poll("t")
    with pytest.raises(RateLimitedError):
        make_adapter("dashscope").poll("t")


def test_the_api_key_never_appears_in_the_cache_key(frozen_clock: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real_add = cache.add

    def spy(key: str, *args: Any, **kwargs: Any) -> bool:
        seen.append(key)
        return bool(real_add(key, *args, **kwargs))

    monkeypatch.setattr(cache, "add", spy)
    RequestBudget(provider="dashscope", api_key="sk-very-secret", limit=5).acquire()
    assert seen and all("sk-very-secret" not in key for key in seen)


def test_an_unreachable_cache_does_not_stop_polling(
    mock_transport: MockProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "incr", broken)
    _always_running(mock_transport)
    make_adapter("dashscope").poll("t")
    assert len(mock_transport.requests) == 1


def test_concurrent_claims_never_exceed_the_budget_on_redis(frozen_clock: list[float]) -> None:
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        if require_in_ci("REQUIRE_REDIS"):
            pytest.fail("REQUIRE_REDIS=1 but the cache is not Redis (set CELERY_BROKER_URL or REDIS_URL)")
        pytest.skip("atomic claims need the Redis cache (the file cache of a laptop run is best-effort)")
    granted: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(40)

    def claim() -> None:
        barrier.wait()
        try:
            RequestBudget(provider="dashscope", api_key="sk-race", limit=20).acquire()
            ok = True
        except RateLimitedError:
            ok = False
        with lock:
            granted.append(ok)

    threads = [threading.Thread(target=claim) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 20 and granted.count(False) == 20
