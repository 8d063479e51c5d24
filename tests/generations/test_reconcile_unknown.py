"""Reconciling ``unknown`` jobs (a create was sent, no provider id came back): ask the provider where it can be asked
(DashScope's task list), accept only an unambiguous answer, otherwise fail and release after the grace period — and
never send a second create. The policy is written in ``generations/reconcile.py``'s docstring."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from billing.models import HoldState
from generations.models import GenerationJob
from generations.providers.base import Mode
from generations.providers.dashscope import DashScopeAdapter
from generations.providers.errors import TransientError
from generations.reconcile import reconcile_jobs
from generations.services.jobs import generation_create
from generations.services.submit import generation_submit
from generations.slots import dispatch_queued
from generations.states import State
from tests.generations.helpers import accepted_for, balance, creates_for, iter_states
from tests.generations.test_generation_lifecycle import request_for


def dashscope_job(pipeline: Any, prompt: str = "@cat plays in @park at dusk") -> GenerationJob:
    return generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.REFERENCE_TO_VIDEO, "dashscope", prompt=prompt),
    )


def ambiguous_dashscope_job(pipeline: Any, prompt: str = "@cat plays in @park at dusk") -> GenerationJob:
    """A DashScope create that reached the provider (the task exists) but whose answer never came back."""
    pipeline.emulator.arm(provider="dashscope", fault="timeout", on="create", times=1)
    job = dashscope_job(pipeline, prompt)
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.UNKNOWN and job.provider_job_id == ""
    assert accepted_for(pipeline.emulator, job) == 1
    return job


def test_dashscope_unknown_job_is_found_in_the_task_list_and_finishes_without_a_second_create(pipeline):
    before = balance(pipeline.world.member, pipeline.world.team)
    job = ambiguous_dashscope_job(pipeline)
    report = reconcile_jobs()
    job.refresh_from_db()
    assert report.unknown_resolved == [str(job.pk)]
    assert job.state == State.SUBMITTED
    assert job.provider_job_id
    assert job.error_message == ""
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.CAPTURED
    assert balance(pipeline.world.member, pipeline.world.team) == before - job.charged_credits
    assert job.charged_credits == job.quoted_credits
    assert creates_for(pipeline.emulator, job) == 1
    assert job.attempts.filter(is_create=True).count() == 1
    assert list(iter_states(job))[:4] == [State.QUEUED, State.SUBMITTING, State.UNKNOWN, State.SUBMITTED]


def test_a_finished_job_with_the_same_prompt_does_not_confuse_the_lookup(pipeline):
    earlier = dashscope_job(pipeline)
    pipeline.worker.settle(earlier)
    assert earlier.state == State.SUCCEEDED
    job = ambiguous_dashscope_job(pipeline)
    reconcile_jobs()
    job.refresh_from_db()
    assert job.state == State.SUBMITTED
    assert job.provider_job_id != earlier.provider_job_id  # the one task no other job claims


def test_twin_unknown_jobs_are_never_resolved_by_guessing_and_fail_after_the_grace_period(pipeline, settings):
    first = ambiguous_dashscope_job(pipeline)
    second = ambiguous_dashscope_job(pipeline)
    report = reconcile_jobs()
    assert report.unknown_resolved == []
    settings.GENERATIONS_UNKNOWN_GRACE_SECONDS = 0
    report = reconcile_jobs()
    assert sorted(report.unknown_failed) == sorted([str(first.pk), str(second.pk)])
    for job in (first, second):
        job.refresh_from_db()
        job.hold.refresh_from_db()
        assert job.state == State.FAILED and job.error_code == "unconfirmed_submit"
        assert job.hold.state == HoldState.RELEASED
        assert creates_for(pipeline.emulator, job) == 1


def test_a_create_that_never_arrived_is_failed_and_released_after_the_grace_period(pipeline, settings):
    before = balance(pipeline.world.member, pipeline.world.team)
    job = dashscope_job(pipeline)
    dispatch_queued()
    pipeline.worker.queue.clear()
    GenerationJob.objects.filter(pk=job.pk).update(submit_sent_at=timezone.now())  # a run died after its claim
    generation_submit(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    reconcile_jobs()
    job.refresh_from_db()
    assert job.state == State.UNKNOWN  # still inside the grace period: keep asking
    settings.GENERATIONS_UNKNOWN_GRACE_SECONDS = 0
    reconcile_jobs()
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert balance(pipeline.world.member, pipeline.world.team) == before
    assert creates_for(pipeline.emulator, job) == 0


def test_a_failing_lookup_keeps_the_job_unknown_until_the_horizon(pipeline, settings, monkeypatch):
    job = ambiguous_dashscope_job(pipeline)

    def broken(self: DashScopeAdapter, spec: Any, *, sent_at: Any) -> list[str]:
        raise TransientError("task list unavailable", provider="dashscope")

    monkeypatch.setattr(DashScopeAdapter, "find_created", broken)
    settings.GENERATIONS_UNKNOWN_GRACE_SECONDS = 0
    reconcile_jobs()
    job.refresh_from_db()
    assert job.state == State.UNKNOWN  # "could not ask" is not "not found"
    settings.GENERATIONS_PROVIDER_HORIZON_SECONDS = 0
    reconcile_jobs()
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert creates_for(pipeline.emulator, job) == 1


@pytest.mark.parametrize("provider", ["pixverse", "highway"])
def test_providers_that_cannot_be_asked_are_never_resubmitted(pipeline, settings, provider):
    """Many reconciler runs and every queued task: still exactly the one create; then failed and released."""
    pipeline.emulator.arm(provider=provider, fault="timeout", on="create", times=1)
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, provider),
    )
    pipeline.worker.drain()
    for _ in range(5):
        reconcile_jobs()
        dispatch_queued()
        pipeline.worker.drain()
        generation_submit(job_id=job.pk)  # a redelivered submit task changes nothing either
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    assert creates_for(pipeline.emulator, job) == 1
    settings.GENERATIONS_UNKNOWN_GRACE_SECONDS = 0
    reconcile_jobs()
    job.refresh_from_db()
    job.hold.refresh_from_db()
    assert job.state == State.FAILED and job.hold.state == HoldState.RELEASED
    assert creates_for(pipeline.emulator, job) == 1
    assert job.attempts.filter(is_create=True).count() == 1


def test_wavespeed_unknown_job_is_found_in_the_prediction_list_without_a_second_create(pipeline):
    """WaveSpeed's ``POST /api/v3/predictions`` (model + time window) finds a create whose answer was lost."""
    pipeline.emulator.arm(provider="wavespeed", fault="timeout", on="create", times=1)
    other = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed", prompt="a different prompt"),
    )
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed", prompt="a lantern in the snow"),
    )
    pipeline.worker.drain()
    job.refresh_from_db()
    other.refresh_from_db()
    lost = job if job.state == State.UNKNOWN else other
    assert lost.state == State.UNKNOWN and lost.provider_job_id == ""
    report = reconcile_jobs()
    lost.refresh_from_db()
    assert report.unknown_resolved == [str(lost.pk)]
    assert lost.state == State.SUBMITTED and lost.provider_job_id
    pipeline.worker.settle(lost)
    assert lost.state == State.SUCCEEDED
    assert creates_for(pipeline.emulator, lost) == 1
    assert accepted_for(pipeline.emulator, lost) == 1
