"""Inbound webhooks only prompt a poll; the reconciler puts lost jobs back on track; interrupted submits are never
resent; poll backoff follows the providers' guidance."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from billing.models import HoldState
from generations.models import GenerationJob
from generations.providers import webhooks
from generations.providers.base import Mode
from generations.reconcile import reconcile_jobs
from generations.services import enqueue
from generations.services.config import poll_max_seconds
from generations.services.jobs import generation_create
from generations.services.poll import poll_delay, poll_sweep
from generations.services.submit import generation_submit
from generations.states import State
from tests.generations.helpers import accepted_for, creates_for
from tests.generations.test_generation_lifecycle import request_for
from tests.net import free_port

SECRET = "whsec_test-secret"


def submitted_job(pipeline, provider="wavespeed"):
    pipeline.emulator.control("POST", "config", json={"queue_seconds": 1000})
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, provider),
    )
    pipeline.worker.drain(until=lambda: GenerationJob.objects.get(pk=job.pk).state == State.SUBMITTED)
    job.refresh_from_db()
    assert job.state == State.SUBMITTED
    pipeline.worker.queue.clear()
    return job


def post_wavespeed(body: dict, *, webhook_id: str = "msg_1", secret: str = SECRET, timestamp: int | None = None):
    raw = json.dumps(body).encode()
    headers = webhooks.wavespeed_headers(
        body=raw, secret=secret, webhook_id=webhook_id, timestamp=timestamp or int(time.time())
    )
    return Client().post(
        reverse("generations:webhook", kwargs={"provider": "wavespeed"}),
        data=raw,
        content_type="application/json",
        headers=headers,
    )


@pytest.fixture
def webhook_secret(settings):
    settings.PROVIDERS["wavespeed"]["WEBHOOK_SECRET"] = SECRET


def test_verified_webhook_prompts_exactly_one_poll(pipeline, webhook_secret):
    job = submitted_job(pipeline)
    seq = job.poll_seq
    response = post_wavespeed({"id": job.provider_job_id, "status": "completed", "outputs": ["x"]})
    assert response.status_code == 202
    job.refresh_from_db()
    assert job.state == State.SUBMITTED  # the webhook itself moves nothing: polling is the source of truth
    assert job.poll_seq == seq + 1
    assert [w.task for w in pipeline.worker.queue] == ["job_poll"]


def test_duplicate_and_out_of_order_webhooks_change_nothing(pipeline, webhook_secret):
    job = submitted_job(pipeline)
    assert post_wavespeed({"id": job.provider_job_id, "status": "processing"}, webhook_id="msg_a").status_code == 202
    duplicate = post_wavespeed({"id": job.provider_job_id, "status": "processing"}, webhook_id="msg_a")
    assert duplicate.status_code == 200 and duplicate.json()["detail"] == "duplicate"
    assert len(pipeline.worker.queue) == 1
    pipeline.emulator.control("POST", "clock", json={"advance": 2000})
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    events = job.events.count()
    pipeline.worker.queue.clear()
    late = post_wavespeed({"id": job.provider_job_id, "status": "processing"}, webhook_id="msg_b")
    assert late.status_code == 200 and late.json()["detail"] == "ignored"
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED and job.events.count() == events
    assert pipeline.worker.queue == []


def test_a_webhook_while_the_cache_is_down_asks_for_a_retry_and_changes_nothing(pipeline, webhook_secret, settings):
    """The replay guard's markers live in the cache. While it is unreachable (a Redis restart: seen in `make chaos`)
    a delivery cannot be checked to be new: 503 with Retry-After, nothing queued, and the sender's retry of the same
    delivery is taken once the cache is back."""
    job = submitted_job(pipeline)
    seq = job.poll_seq
    working = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: connection refused
        }
    }
    body = {"id": job.provider_job_id, "status": "completed", "outputs": ["x"]}
    refused = post_wavespeed(body, webhook_id="msg_cache_down")
    assert refused.status_code == 503 and refused["Retry-After"] == "30"
    assert refused.json() == {"detail": "try again later"}
    job.refresh_from_db()
    assert job.poll_seq == seq and pipeline.worker.queue == []
    settings.CACHES = working
    assert post_wavespeed(body, webhook_id="msg_cache_down").status_code == 202
    job.refresh_from_db()
    assert job.poll_seq == seq + 1 and [w.task for w in pipeline.worker.queue] == ["job_poll"]


def test_a_webhook_while_the_broker_is_down_leaves_its_job_due_for_the_sweep(pipeline, webhook_secret):
    """The job is made due before its fetch is sent; if the broker refuses the fetch, the webhook is still taken
    (202, no 500 for the sender to retry) and the next sweep polls the job."""
    job = submitted_job(pipeline)
    seq = job.poll_seq
    pipeline.emulator.control("POST", "clock", json={"advance": 2000})  # done at the provider

    def broker_down(work: enqueue.Work) -> None:
        raise BrokerUnavailable("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with enqueue.use_sink(broker_down, immediate=True):
        response = post_wavespeed({"id": job.provider_job_id, "status": "completed", "outputs": ["x"]})
    assert response.status_code == 202
    job.refresh_from_db()
    assert job.poll_seq == seq + 1 and job.next_poll_at <= timezone.now()
    report = poll_sweep(time_budget=5.0)
    assert report.polled == 1
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED


def test_forged_webhooks_are_refused(pipeline, webhook_secret):
    job = submitted_job(pipeline)
    forged = post_wavespeed({"id": job.provider_job_id, "status": "completed"}, secret="whsec_wrong")
    assert forged.status_code == 401
    stale = post_wavespeed({"id": job.provider_job_id}, webhook_id="msg_old", timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401
    unsigned = Client().post(
        reverse("generations:webhook", kwargs={"provider": "wavespeed"}), data=b"{}", content_type="application/json"
    )
    assert unsigned.status_code == 401
    unknown = Client().post(
        reverse("generations:webhook", kwargs={"provider": "nobody"}), data=b"{}", content_type="application/json"
    )
    assert unknown.status_code == 404
    assert pipeline.worker.queue == []


def test_reconciler_restarts_overdue_polls(pipeline):
    job = submitted_job(pipeline)
    GenerationJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now() - timedelta(hours=1))
    report = reconcile_jobs()
    assert str(job.pk) in report.polls_restarted
    pipeline.emulator.control("POST", "clock", json={"advance": 2000})
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED


def test_stale_poll_tasks_do_nothing(pipeline):
    job = submitted_job(pipeline)
    from generations.services.poll import generation_poll

    generation_poll(job_id=job.pk, seq=job.poll_seq - 1 if job.poll_seq else 99)
    job.refresh_from_db()
    assert job.poll_count == 0


def test_interrupted_submit_is_never_resent(pipeline):
    """A worker died after claiming the send (the create may be on the wire): the redelivered task goes to unknown."""
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed"),
    )
    from generations.slots import dispatch_queued

    dispatch_queued()
    GenerationJob.objects.filter(pk=job.pk).update(submit_sent_at=timezone.now())  # the crashed run's claim
    generation_submit(job_id=job.pk)
    generation_submit(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    assert creates_for(pipeline.emulator, job) == 0


def test_lost_submit_task_is_resent_only_before_the_claim(pipeline, settings):
    settings.GENERATIONS_STUCK_SECONDS = 0
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed"),
    )
    from generations.slots import dispatch_queued

    dispatch_queued()
    pipeline.worker.queue.clear()  # the submit task is lost
    GenerationJob.objects.filter(pk=job.pk).update(dispatched_at=timezone.now() - timedelta(minutes=5))
    report = reconcile_jobs()
    assert str(job.pk) in report.submits_resent
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    assert accepted_for(pipeline.emulator, job) == 1


def test_stuck_download_is_retried(pipeline, settings):
    job = submitted_job(pipeline)
    pipeline.emulator.control("POST", "clock", json={"advance": 2000})
    pipeline.worker.queue.clear()
    from generations.services.poll import restart_poll_chain

    restart_poll_chain(job)
    pipeline.worker.drain(until=lambda: GenerationJob.objects.get(pk=job.pk).state == State.DOWNLOADING)
    pipeline.worker.queue.clear()  # the finalize task is lost
    settings.GENERATIONS_STUCK_SECONDS = 0
    GenerationJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    report = reconcile_jobs()
    assert str(job.pk) in report.finalizes_restarted
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED


def test_open_hold_on_a_finished_job_is_reported(pipeline):
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed"),
    )
    GenerationJob.objects.filter(pk=job.pk).update(state=State.FAILED, finished_at=timezone.now())  # a broken job
    report = reconcile_jobs()
    assert report.open_holds_on_finished_jobs == [str(job.pk)]
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.OPEN  # reported, not silently "fixed"


def test_poll_backoff_doubles_to_the_cap_and_honours_retry_after(settings):
    settings.GENERATIONS_POLL_BASE_SECONDS = 2.0
    settings.GENERATIONS_POLL_MAX_SECONDS = 30.0
    assert [poll_delay(provider="wavespeed", poll_count=n) for n in range(6)] == [2, 4, 8, 16, 30, 30]
    assert poll_delay(provider="dashscope", poll_count=0) == 5  # DashScope's floor
    assert poll_delay(provider="wavespeed", poll_count=0, retry_after=12) == 12
    assert poll_delay(provider="wavespeed", poll_count=0, retry_after=10_000) <= 2 * poll_max_seconds()


PX_SECRET = "pixverse-test-secret"


def post_pixverse(body: dict, *, secret: str = PX_SECRET, nonce: str = "", old_scheme: bool = False):
    import base64
    import hashlib
    import hmac
    import uuid
    from urllib.parse import quote

    raw = json.dumps(body).encode()
    timestamp, nonce = str(int(time.time())), nonce or uuid.uuid4().hex
    headers = webhooks.pixverse_headers(body=raw, secret=secret, timestamp=timestamp, nonce=nonce)
    if old_scheme:  # the first build's reading: encodeURIComponent(raw body)
        message = f"{timestamp}\n{nonce}\n{quote(raw, safe=chr(39) + '-_.!~*()')}".encode()
        digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
        headers["Webhook-Signature"] = base64.b64encode(digest).decode()
    return Client().post(
        reverse("generations:webhook", kwargs={"provider": "pixverse"}),
        data=raw,
        content_type="application/json",
        headers=headers,
    )


def test_a_documented_pixverse_webhook_is_answered_ok_and_prompts_a_poll(pipeline, settings):
    settings.PROVIDERS["pixverse"]["WEBHOOK_SECRET"] = PX_SECRET
    job = submitted_job(pipeline, provider="pixverse")
    seq = job.poll_seq
    response = post_pixverse({"id": int(job.provider_job_id), "status": 1, "url": "https://x/v.mp4"})
    assert (response.status_code, response.content, response["Content-Type"]) == (200, b"ok", "text/plain")
    job.refresh_from_db()
    assert job.poll_seq == seq + 1 and [w.task for w in pipeline.worker.queue] == ["job_poll"]
    # Signed the first build's way, or with another secret: refused, nothing scheduled.
    pipeline.worker.queue.clear()
    assert post_pixverse({"id": int(job.provider_job_id), "status": 1}, old_scheme=True).status_code == 401
    assert post_pixverse({"id": int(job.provider_job_id), "status": 1}, secret="other").status_code == 401
    assert pipeline.worker.queue == []
