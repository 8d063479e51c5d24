"""Idempotency-Key under real concurrency (PostgreSQL): 20 identical creates at once make one job and one hold, and
every caller gets the same answer."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client

from billing.models import Hold, RateCard
from generations.models import GenerationJob, IdempotencyKey
from generations.services.enqueue import use_sink
from studio.accounts.services import api_token_create
from tests.billing.conftest import skip_unless_postgres
from tests.generations.helpers import InlineWorker, balance, fund

THREADS = 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_20_concurrent_identical_creates_make_one_job_and_one_hold(world, settings):
    skip_unless_postgres()
    from billing.metering import DEFAULT_RATES
    from billing.rate_cards import rate_card_publish

    if not RateCard.objects.filter(is_active=True).exists():  # transactional tests flush migration data
        rate_card_publish(rates=DEFAULT_RATES, note="test")
    fund(world.member, world.team, 10_000)
    before = balance(world.member, world.team)
    _, raw = api_token_create(user=world.member, team=world.team)
    body = json.dumps(
        {
            "project_id": world.project.pk,
            "mode": "t2v",
            "prompt": "a title card that says hello",
            "resolution": "360p",
            "duration": 2,
            "aspect_ratio": "16:9",
            "provider": "wavespeed",
        }
    )
    key = str(uuid.uuid4())
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def one(_: int) -> None:
        try:
            barrier.wait(timeout=30)
            response = Client().post(
                "/api/v1/generations",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
                HTTP_IDEMPOTENCY_KEY=key,
            )
            with lock:
                results.append((response.status_code, response.content))
        finally:
            connections.close_all()

    with use_sink(InlineWorker()), ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(one, range(THREADS)))

    assert [status for status, _ in results] == [201] * THREADS, results[:3]
    assert len({content for _, content in results}) == 1  # byte-for-byte the same answer
    assert GenerationJob.objects.count() == 1
    job = GenerationJob.objects.get()
    assert Hold.objects.count() == 1 and Hold.objects.get().key == str(job.pk)
    assert IdempotencyKey.objects.get().job_id == job.pk
    assert balance(world.member, world.team) == before - job.quoted_credits
