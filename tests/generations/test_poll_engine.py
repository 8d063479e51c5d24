"""The poll engine's correctness (not its speed: `make bench` measures that).

- Two sweeps running at once never poll the same job twice (PostgreSQL, real threads, FOR UPDATE SKIP LOCKED).
- A job that a webhook completes is finalized once, however the webhook fetch and the sweep interleave.
- The sweep's pick is served by the due-time index (EXPLAIN on PostgreSQL).
- The schedule follows history, Retry-After and the provider's floor; dispatch is coalesced per provider.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import HoldState, LedgerTransaction, TxKind
from generations import tasks
from generations.models import GenerationEvent, GenerationJob, ProviderAttempt
from generations.providers import webhooks
from generations.providers.base import JobSpec, Mode
from generations.providers.registry import get_adapter
from generations.services import config, enqueue
from generations.services.jobs import generation_create
from generations.services.poll import (
    Expectation,
    claim_due,
    due_sql,
    expected_render,
    forget_history,
    next_delay,
    poll_sweep,
)
from generations.states import State
from tests.billing.conftest import skip_unless_postgres
from tests.generations.factories import GenerationJobFactory
from tests.generations.test_generation_lifecycle import request_for
from tests.providers.conftest import emulator_setup

SECRET = "whsec_engine-secret"


@pytest.fixture(autouse=True)
def _no_history() -> None:
    forget_history()


def running_jobs(world: Any, count: int, *, due_ago: float = 1.0) -> list[GenerationJob]:
    """``count`` jobs the emulator really has (created through the adapter), running and due ``due_ago`` s ago."""
    adapter = get_adapter("wavespeed")
    now = timezone.now()
    jobs = []
    for i in range(count):
        spec = JobSpec(job_id=uuid.uuid4(), mode=Mode.TEXT_TO_VIDEO, prompt=f"a lake at dawn, take {i}")
        accepted = adapter.submit(spec)
        jobs.append(
            GenerationJobFactory(
                id=spec.job_id,
                project=world.project,
                creator=world.owner,
                state=State.RUNNING,
                provider_job_id=accepted.provider_job_id,
                submitted_at=now,
                next_poll_at=now - timedelta(seconds=due_ago),
            )
        )
    return jobs


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_never_poll_the_same_job_twice(world, settings, tmp_path: Path) -> None:
    skip_unless_postgres()
    settings.GENERATIONS_POLL_BATCH_SIZE = 7  # many small batches: the two sweeps interleave claim by claim
    settings.GENERATIONS_POLL_BASE_SECONDS = 600.0  # a polled job is not due again within the test
    settings.GENERATIONS_POLL_MAX_SECONDS = 600.0
    with emulator_setup(settings, tmp_path / "media", queue_seconds=10_000):
        jobs = running_jobs(world, 80)
        start = threading.Barrier(2)
        reports: list[Any] = []
        errors: list[BaseException] = []

        def sweep() -> None:
            try:
                start.wait(timeout=30)
                reports.append(poll_sweep(time_budget=60))
            except BaseException as exc:  # reported below; a thread's exception would otherwise vanish
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    assert sum(report.polled for report in reports) == len(jobs)
    polls = {job.pk: ProviderAttempt.objects.filter(job=job, method="GET").count() for job in jobs}
    assert set(polls.values()) == {1}, {str(k): v for k, v in polls.items() if v != 1}
    for job in jobs:
        job.refresh_from_db()
        assert job.poll_count == 1
        assert job.next_poll_at is not None and job.next_poll_at > timezone.now() + timedelta(seconds=60)


@pytest.mark.django_db
def test_a_sweep_finishes_every_batch_it_claims(world, settings, tmp_path: Path) -> None:
    """The sweep is pipelined (the next batch is claimed while the last one's calls are in flight), yet it never
    returns with a batch half done: what it claimed is polled and rescheduled, and nothing else is touched."""
    settings.GENERATIONS_POLL_BATCH_SIZE = 5
    settings.GENERATIONS_POLL_BASE_SECONDS = 600.0
    settings.GENERATIONS_POLL_MAX_SECONDS = 600.0
    settings.GENERATIONS_POLL_LEASE_SECONDS = 60.0
    with emulator_setup(settings, tmp_path / "media", queue_seconds=10_000):
        jobs = running_jobs(world, 12)
        one = poll_sweep(time_budget=0)  # no budget: one batch, claimed and finished
        assert (one.batches, one.claimed, one.polled) == (1, 5, 5)
        rest = poll_sweep(time_budget=60)
        assert (rest.batches, rest.claimed, rest.polled) == (2, 7, 7)
        assert poll_sweep(time_budget=60).claimed == 0
    soon = timezone.now() + timedelta(seconds=120)  # past any lease: a job left leased would fall due by then
    for job in jobs:
        job.refresh_from_db()
        assert job.poll_count == 1
        assert job.next_poll_at is not None and job.next_poll_at > soon
        assert ProviderAttempt.objects.filter(job=job, method="GET").count() == 1


@pytest.mark.django_db
def test_a_claimed_job_is_not_claimed_again_until_its_lease_ends(world, settings, tmp_path: Path) -> None:
    with emulator_setup(settings, tmp_path / "media", queue_seconds=10_000):
        (job,) = running_jobs(world, 1)
    first = claim_due(limit=10)
    assert [pk for pk, _ in first] == [job.pk]
    assert first[0][1] >= 1.0  # it was claimed a second after it fell due
    assert claim_due(limit=10) == []  # a dead sweep's jobs wait out the lease, then are due again
    settings.GENERATIONS_POLL_LEASE_SECONDS = 0
    later = timezone.now() + timedelta(seconds=120)
    assert [pk for pk, _ in claim_due(limit=10, now=later)] == [job.pk]


def post_webhook(job: GenerationJob, webhook_id: str) -> int:
    raw = json.dumps({"id": job.provider_job_id, "status": "completed", "outputs": ["x"]}).encode()
    headers = webhooks.wavespeed_headers(body=raw, secret=SECRET, webhook_id=webhook_id, timestamp=int(time.time()))
    response = Client().post(
        reverse("generations:webhook", kwargs={"provider": "wavespeed"}),
        data=raw,
        content_type="application/json",
        headers=headers,
    )
    return int(response.status_code)


def test_a_job_a_webhook_completes_is_finalized_once(pipeline, settings) -> None:
    settings.PROVIDERS["wavespeed"]["WEBHOOK_SECRET"] = SECRET
    pipeline.emulator.control("POST", "config", json={"queue_seconds": 1000})
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed"),
    )
    pipeline.worker.drain(until=lambda: GenerationJob.objects.get(pk=job.pk).state == State.SUBMITTED)
    job.refresh_from_db()
    pipeline.emulator.control("POST", "clock", json={"advance": 2000})  # the provider finished
    # Two deliveries of the news (the provider's retry) and the job also due for a sweep: three readers of "done".
    assert post_webhook(job, "msg_1") == 202
    assert post_webhook(job, "msg_2") == 202
    GenerationJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now() - timedelta(seconds=5))
    assert pipeline.worker.sweep()  # the sweep reads "completed" first …
    pipeline.worker.settle(job)  # … then both webhook fetches run, and the finalize
    assert job.state == State.SUCCEEDED
    assert pipeline.worker.tasks().count("job_finalize") == 1
    assert GenerationEvent.objects.filter(job=job, to_state=State.DOWNLOADING).count() == 1
    assert GenerationEvent.objects.filter(job=job, to_state=State.SUCCEEDED).count() == 1
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.CAPTURED
    assert LedgerTransaction.objects.filter(hold=job.hold, kind=TxKind.CAPTURE).count() == 1


def test_webhook_fetch_wins_over_a_later_sweep(pipeline, settings) -> None:
    """The other order: the webhook's fetch sees "completed" first; the sweep then finds nothing due."""
    settings.PROVIDERS["wavespeed"]["WEBHOOK_SECRET"] = SECRET
    pipeline.emulator.control("POST", "config", json={"queue_seconds": 1000})
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed"),
    )
    pipeline.worker.drain(until=lambda: GenerationJob.objects.get(pk=job.pk).state == State.SUBMITTED)
    pipeline.worker.queue.clear()
    job.refresh_from_db()
    pipeline.emulator.control("POST", "clock", json={"advance": 2000})
    assert post_webhook(job, "msg_1") == 202
    pipeline.worker.run(pipeline.worker.queue.pop(0))  # the fetch
    assert GenerationJob.objects.get(pk=job.pk).state == State.DOWNLOADING
    assert claim_due(limit=10, now=timezone.now() + timedelta(days=1)) == []  # nothing left to poll
    pipeline.worker.settle(job)
    assert pipeline.worker.tasks().count("job_finalize") == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sweep_pick_uses_the_due_time_index(world) -> None:
    skip_unless_postgres()
    now = timezone.now()
    base = {"project": world.project, "team": world.team, "creator": world.owner, "provider": "wavespeed"}
    rows = [GenerationJob(state=State.SUCCEEDED, **base) for _ in range(4000)]
    rows += [
        GenerationJob(state=State.RUNNING, next_poll_at=now + timedelta(seconds=i % 600), **base) for i in range(4000)
    ]
    GenerationJob.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {GenerationJob._meta.db_table}")
        adapt = connection.ops.adapt_datetimefield_value
        cursor.execute("EXPLAIN (FORMAT JSON) " + due_sql(), [adapt(now + timedelta(seconds=2)), 200])
        plan = json.dumps(cursor.fetchone()[0])
    assert "generation_poll_due" in plan, plan
    assert '"Node Type": "Seq Scan"' not in plan, plan


# ---------------------------------------------------------------------------------------------------------------------
# The schedule


def test_schedule_polls_densely_around_the_expected_finish(settings) -> None:
    settings.GENERATIONS_POLL_DENSE_SECONDS = 1.0
    settings.GENERATIONS_POLL_MAX_SECONDS = 30.0
    sixty = Expectation(fastest=58.0, median=60.0, slowest=62.0, samples=20)
    first = next_delay(provider="wavespeed", poll_count=0, elapsed=0.0, expectation=sixty)
    assert 20 <= first <= 30  # one early look (an early failure is not left for a minute)
    assert next_delay(provider="wavespeed", poll_count=1, elapsed=first, expectation=sixty) == 57 - first
    for elapsed in (57.0, 60.0, 63.0):
        assert next_delay(provider="wavespeed", poll_count=3, elapsed=elapsed, expectation=sixty) == 1.0
    late = [next_delay(provider="wavespeed", poll_count=9, elapsed=t, expectation=sixty) for t in (70, 120, 600)]
    assert late == sorted(late) and late[0] < 5 and late[-1] == 30  # backs off with the overrun, to the cap
    # DashScope's floor and a Retry-After both win over the dense interval.
    assert next_delay(provider="dashscope", poll_count=3, elapsed=60.0, expectation=sixty) == 5.0
    assert next_delay(provider="wavespeed", poll_count=3, elapsed=60.0, expectation=sixty, retry_after=7) == 7


def test_status_calls_for_a_job_that_finishes_as_expected_are_few(settings) -> None:
    """A 60 s job polled on this schedule: calls until the one that sees it done (the SDK's run() makes ~61)."""
    settings.GENERATIONS_POLL_DENSE_SECONDS = 1.0
    sixty = Expectation(fastest=59.0, median=60.0, slowest=61.0, samples=20)
    elapsed, calls = 0.0, 0
    while True:
        elapsed += next_delay(provider="wavespeed", poll_count=calls, elapsed=elapsed, expectation=sixty)
        calls += 1
        if elapsed >= 60.0:
            break
    assert calls <= 6
    assert elapsed - 60.0 <= 1.0  # seen within the dense interval of the finish


@pytest.mark.django_db
def test_expectation_is_learned_from_similar_jobs_only(world) -> None:
    now = timezone.now()
    for seconds in (40, 42, 44, 46, 48):
        GenerationJobFactory(
            project=world.project,
            creator=world.owner,
            state=State.SUCCEEDED,
            resolution="720p",
            duration=5,
            render_seconds=seconds,
            submitted_at=now,
        )
    GenerationJobFactory(
        project=world.project, creator=world.owner, state=State.SUCCEEDED, duration=10, render_seconds=400
    )
    five = expected_render(provider="wavespeed", mode="t2v", resolution="720p", duration=5)
    assert five is not None and five.median == 44 and five.samples == 5
    assert 40 <= five.fastest <= five.median <= five.slowest <= 48
    assert expected_render(provider="wavespeed", mode="t2v", resolution="1080p", duration=5) is None


@pytest.mark.django_db
def test_dispatch_is_coalesced_per_provider_until_the_run_starts(settings) -> None:
    key = "dispatch:wavespeed"
    enqueue.coalesce_clear(key)
    assert enqueue.coalesce_claim(key) is True
    assert [enqueue.coalesce_claim(key) for _ in range(100)] == [False] * 100  # 100 creates: no more tasks
    assert enqueue.coalesce_claim("dispatch:dashscope") is True  # another provider has its own
    tasks.dispatch_queued.run(provider="wavespeed")  # the run clears its mark before it reads the queue
    assert enqueue.coalesce_claim(key) is True


@pytest.mark.django_db
def test_a_lost_looking_submit_is_resent_once_while_the_resend_waits(
    world, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """The reconciler resends the submit of a job stuck in ``submitting`` before its send. Behind a slow queue it
    used to resend on every run (every 2 s in the crash trials), and the copies, each a no-op, buried every other
    job's submit: the queue fell further behind with each run."""
    from generations.reconcile import reconcile_jobs

    settings.GENERATIONS_STUCK_SECONDS = 60
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.job_submit, "apply_async", lambda kwargs, countdown=None: sent.append(kwargs))
    job = GenerationJobFactory(
        project=world.project,
        creator=world.member,
        provider="wavespeed",
        state=State.SUBMITTING,
        dispatched_at=timezone.now() - timedelta(minutes=5),
    )
    enqueue.coalesce_clear(enqueue.submit_coalesce_key(job.pk))
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            report = reconcile_jobs()
        assert str(job.pk) in report.submits_resent
    assert sent == [{"job_id": str(job.pk)}]
    # The task clears the mark as it starts (here it finds nothing to send: the job was canceled meanwhile).
    GenerationJob.objects.filter(pk=job.pk).update(state=State.CANCELED)
    tasks.job_submit.run(job_id=str(job.pk))
    GenerationJob.objects.filter(pk=job.pk).update(state=State.SUBMITTING)
    with django_capture_on_commit_callbacks(execute=True):
        reconcile_jobs()
    assert len(sent) == 2


def test_the_sweep_has_its_own_queue_and_beat_entry() -> None:
    from studio.celery import app

    routes = app.conf.task_routes
    assert routes["generations.tasks.poll_sweep"]["queue"] == "sweep"
    assert routes["generations.tasks.job_poll"]["queue"] == "poll"  # webhook fetches: never behind a sweep
    assert {"sweep", "poll"} <= set(app.conf.task_queues)
    entry = app.conf.beat_schedule["poll-sweep"]
    assert entry["task"] == "generations.tasks.poll_sweep"
    assert entry["schedule"] <= timedelta(seconds=5)
    assert entry["options"]["expires"] >= entry["schedule"].total_seconds()  # a backlog of sweeps is dropped
    assert tasks.poll_sweep.acks_late and tasks.poll_sweep.soft_time_limit < tasks.poll_sweep.time_limit
    # A claim's lease outlives the longest sweep, so no job is claimed twice while its poll is in flight.
    assert config.poll_lease_seconds() > tasks.poll_sweep.time_limit


@pytest.mark.django_db
def test_a_polled_job_gets_its_next_due_time_unless_its_poll_was_overtaken(world, settings, tmp_path: Path) -> None:
    settings.GENERATIONS_POLL_BASE_SECONDS = 7.0
    settings.GENERATIONS_POLL_MAX_SECONDS = 7.0
    with emulator_setup(settings, tmp_path / "media", queue_seconds=10_000):
        first, second = running_jobs(world, 2)
        before = timezone.now()
        (claimed_first, _), (claimed_second, _) = sorted(claim_due(limit=10), key=lambda c: c[0] != first.pk)
        # A webhook prompt overtakes the second job's poll while it is in flight.
        GenerationJob.objects.filter(pk=second.pk).update(
            poll_seq=F("poll_seq") + 1, next_poll_at=before + timedelta(seconds=1)
        )
        GenerationJob.objects.filter(pk__in=[first.pk, second.pk]).update(next_poll_at=None)
        GenerationJob.objects.filter(pk=second.pk).update(next_poll_at=before + timedelta(seconds=1))
        from generations.services.poll import schedule_polls

        claimed = {job.pk: job.poll_seq for job in GenerationJob.objects.filter(pk__in=[first.pk, second.pk])}
        schedule_polls([(first.pk, claimed[first.pk], 7.0), (second.pk, claimed[second.pk] - 1, 7.0)], now=before)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.next_poll_at == before + timedelta(seconds=7)
    assert second.next_poll_at == before + timedelta(seconds=1)  # the overtaken answer did not push it back
    assert claimed_first == first.pk and claimed_second == second.pk


@pytest.mark.django_db
def test_precise_history_wins_over_samples_the_backoff_saw_late(world) -> None:
    now = timezone.now()
    for seconds, margin in ((47, 15.0), (46, 15.0), (48, 15.0), (60, 0.5), (60.5, 0.5), (59.5, 0.5)):
        GenerationJobFactory(
            project=world.project,
            creator=world.owner,
            state=State.SUCCEEDED,
            render_seconds=seconds,
            render_margin_seconds=margin,
            submitted_at=now,
        )
    expectation = expected_render(provider="wavespeed", mode="t2v", resolution="720p", duration=5)
    assert expectation is not None and expectation.samples == 3
    assert 59.5 <= expectation.fastest <= expectation.slowest <= 60.5
