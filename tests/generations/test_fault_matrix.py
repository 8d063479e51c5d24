"""The emulator's fault matrix, in-process: each fault ends in the right terminal state with the right ledger result,
and the provider never accepts more than one paid create per job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import HoldState
from generations.models import GenerationJob
from generations.providers.base import Mode
from generations.reconcile import reconcile_jobs
from generations.services import lifecycle
from generations.services.jobs import generation_create
from generations.states import State
from tests.clock import mid_month
from tests.generations.helpers import accepted_for, balance, run_with_requeues
from tests.generations.test_generation_lifecycle import request_for


def create(pipeline, provider: str = "wavespeed", mode: Mode = Mode.TEXT_TO_VIDEO, prompt: str | None = None):
    overrides = {"prompt": prompt} if prompt is not None else {}
    return generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, mode, provider, **overrides),
    )


def hold_state(job: GenerationJob) -> str:
    job.hold.refresh_from_db()
    return job.hold.state


@pytest.mark.parametrize(
    ("provider", "token", "state"),
    [
        ("wavespeed", "#fail", State.FAILED),
        ("pixverse", "#fail", State.FAILED),
        ("dashscope", "#fail", State.FAILED),
        ("highway", "#fail", State.FAILED),
        ("wavespeed", "#moderate", State.MODERATED),
        ("pixverse", "#moderate", State.MODERATED),
        ("dashscope", "#moderate", State.MODERATED),
        ("highway", "#moderate", State.MODERATED),
    ],
)
def test_provider_side_failures_end_the_job_and_release_the_hold(
    pipeline, provider, token, state, monkeypatch, django_capture_on_commit_callbacks
):
    moderated: list[str] = []
    monkeypatch.setattr(lifecycle, "on_job_moderated", lambda job: moderated.append(str(job.pk)))
    mode = Mode.REFERENCE_TO_VIDEO if provider == "dashscope" else Mode.TEXT_TO_VIDEO
    before = balance(pipeline.world.member, pipeline.world.team)
    prompt = f"@cat plays in @park {token}" if mode == Mode.REFERENCE_TO_VIDEO else f"a storm {token}"
    with django_capture_on_commit_callbacks(execute=True):
        job = create(pipeline, provider, mode, prompt=prompt)
        pipeline.worker.settle(job)
    assert job.state == state
    # The event trail ends in that state, and the moderation hook (the review case) ran exactly for moderated jobs.
    assert job.events.last().to_state == state
    assert moderated == ([str(job.pk)] if state == State.MODERATED else [])
    assert not job.output  # a refused job has no video (NSFW-flagged deliveries: tests/moderation)
    assert hold_state(job) == HoldState.RELEASED
    assert job.hold.captured_amount == 0
    assert job.charged_credits == 0
    assert balance(pipeline.world.member, pipeline.world.team) == before
    assert accepted_for(pipeline.emulator, job) == 1
    assert job.error_message


@pytest.mark.parametrize(
    ("provider", "fault"),
    [
        ("wavespeed", "ratelimit"),
        ("pixverse", "busy"),  # ErrCode 500044
        ("dashscope", "busy"),
        ("highway", "error503"),
        ("pixverse", "error500"),
        ("wavespeed", "fail200"),
        ("pixverse", "fail200"),
        ("highway", "connect_timeout"),  # before sending: definitely not accepted
        ("wavespeed", "connect_error"),
    ],
)
def test_definite_refusals_requeue_the_job_without_a_second_paid_create(pipeline, provider, fault):
    pipeline.emulator.arm(provider=provider, fault=fault, on="create", times=1)
    mode = Mode.REFERENCE_TO_VIDEO if provider == "dashscope" else Mode.TEXT_TO_VIDEO
    job = create(pipeline, provider, mode)
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.QUEUED
    requeued = job.events.get(from_state=State.SUBMITTING, to_state=State.QUEUED)
    assert job.not_before is not None and job.not_before > requeued.at  # a backoff, however long the drain took
    assert job.submit_sent_at is None
    run_with_requeues(pipeline, job)
    assert job.state == State.SUCCEEDED
    assert hold_state(job) == HoldState.CAPTURED
    assert accepted_for(pipeline.emulator, job) == 1
    assert job.events.filter(from_state=State.SUBMITTING, to_state=State.QUEUED).count() == 1


# A stopped clock: how long the drain takes after the requeue must not eat into the 2 s (a slow machine).
@mid_month()
def test_retry_after_is_honoured_when_longer_than_the_backoff(pipeline, settings):
    settings.GENERATIONS_REQUEUE_BASE_SECONDS = 0.5
    pipeline.emulator.arm(provider="wavespeed", fault="ratelimit", on="create", times=1)
    job = create(pipeline)
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.not_before - timezone.now() > timedelta(seconds=1.5)  # the emulator says Retry-After: 2


@pytest.mark.parametrize("fault", ["timeout", "reset", "malformed"])
def test_ambiguous_wavespeed_submits_are_found_in_its_prediction_list(pipeline, fault):
    pipeline.emulator.arm(provider="wavespeed", fault=fault, on="create", times=1)
    job = create(pipeline, "wavespeed")
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    reconcile_jobs()
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    assert hold_state(job) == HoldState.CAPTURED
    assert accepted_for(pipeline.emulator, job) == 1
    assert job.attempts.filter(is_create=True).count() == 1


@pytest.mark.parametrize("fault", ["timeout", "reset", "malformed"])
@pytest.mark.parametrize("provider", ["pixverse", "highway"])
def test_ambiguous_submits_go_to_unknown_and_are_never_resent(pipeline, settings, provider, fault):
    pipeline.emulator.arm(provider=provider, fault=fault, on="create", times=1)
    job = create(pipeline, provider)
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    assert hold_state(job) == HoldState.OPEN
    # The reconciler never resends; past the grace period it fails the job and gives the credits back.
    reconcile_jobs()
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    settings.GENERATIONS_UNKNOWN_GRACE_SECONDS = 0
    reconcile_jobs()
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert job.error_code == "unconfirmed_submit"
    assert hold_state(job) == HoldState.RELEASED
    assert accepted_for(pipeline.emulator, job) <= 1
    assert job.attempts.filter(is_create=True).count() == 1


@pytest.mark.parametrize(
    "token", ["#poll-ratelimit", "#poll-error500", "#poll-timeout", "#poll-reset", "#poll-malformed", "#poll-fail200"]
)
def test_poll_faults_are_retried_and_the_job_still_succeeds(pipeline, token):
    job = create(pipeline, "pixverse", prompt=f"a quiet lake {token}")
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    assert hold_state(job) == HoldState.CAPTURED
    assert accepted_for(pipeline.emulator, job) == 1
    assert job.poll_count >= 2


def test_a_job_that_never_finishes_expires_at_the_horizon_and_is_released(pipeline, settings):
    job = create(pipeline, "highway", prompt="forever #never")
    pipeline.worker.drain(max_steps=20)
    job.refresh_from_db()
    assert job.state in (State.SUBMITTED, State.RUNNING)
    GenerationJob.objects.filter(pk=job.pk).update(submitted_at=timezone.now() - timedelta(hours=25))
    report = reconcile_jobs()
    job.refresh_from_db()
    assert str(job.pk) in report.expired
    assert job.state == State.EXPIRED
    assert hold_state(job) == HoldState.RELEASED
    assert accepted_for(pipeline.emulator, job) == 1


def test_permanent_refusal_on_a_pinned_provider_fails_and_releases(pipeline, settings):
    settings.PROVIDERS["highway"]["API_KEY"] = "invalid-key"
    before = balance(pipeline.world.member, pipeline.world.team)
    job = create(pipeline, "highway")
    pipeline.worker.settle(job)
    assert job.state == State.FAILED
    assert hold_state(job) == HoldState.RELEASED
    assert balance(pipeline.world.member, pipeline.world.team) == before
    assert accepted_for(pipeline.emulator, job) == 0


def test_too_many_refusals_fail_the_job(pipeline, settings):
    settings.GENERATIONS_MAX_SUBMIT_ATTEMPTS = 2
    job = create(pipeline, "wavespeed", prompt="a storm #error500")
    run_with_requeues(pipeline, job, rounds=4)
    assert job.state == State.FAILED
    assert hold_state(job) == HoldState.RELEASED
    assert accepted_for(pipeline.emulator, job) == 0
