"""Dead end (issue 10): a job whose named provider keeps refusing (``#error500``) sat "Queued" for over 10 minutes.
Now it gives up after ``GENERATIONS_SUBMIT_GIVE_UP_SECONDS`` of refusals and releases the hold; while it waits, the job
page says why in words."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from billing.models import HoldState
from generations.models import GenerationEvent, GenerationJob
from generations.providers.base import Mode
from generations.selectors import wait_reason
from generations.services.jobs import generation_create
from generations.slots import dispatch_queued
from generations.states import State
from tests.generations.helpers import accepted_for, balance, release_delays
from tests.generations.test_generation_lifecycle import request_for


def _create(pipeline, prompt: str) -> GenerationJob:
    world = pipeline.world
    return generation_create(
        user=world.member,
        project=world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed", prompt=prompt),
    )


def test_a_refusing_named_provider_gives_up_after_the_configured_time_and_releases_the_hold(pipeline, settings):
    settings.GENERATIONS_MAX_SUBMIT_ATTEMPTS = 50  # the attempt count alone would keep it queued for a long time
    settings.GENERATIONS_SUBMIT_GIVE_UP_SECONDS = 120
    settings.GENERATIONS_CIRCUIT_THRESHOLD = 1000
    before = balance(pipeline.world.member, pipeline.world.team)
    job = _create(pipeline, "a storm #error500")
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.QUEUED and job.submit_attempts == 1

    reason = wait_reason(job)
    assert "refusing requests (HTTP 500)" in reason and "retry 2 of 50" in reason and "credits stay held" in reason
    page = pipeline.world.client_for(pipeline.world.member).get(reverse("generations:job", kwargs={"pk": job.pk}))
    assert "refusing requests" in page.content.decode()

    # A minute of refusals: still retrying.
    GenerationEvent.objects.filter(job=job).update(at=timezone.now() - timedelta(seconds=30))
    release_delays()
    dispatch_queued()
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.QUEUED and job.submit_attempts == 2

    # Past the give-up time: the next refusal fails the job and returns every credit.
    GenerationEvent.objects.filter(job=job).update(at=timezone.now() - timedelta(seconds=200))
    release_delays()
    dispatch_queued()
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert job.hold.state == HoldState.RELEASED
    assert balance(pipeline.world.member, pipeline.world.team) == before
    assert "kept refusing" in job.error_message and "returned your credits" in job.error_message
    assert accepted_for(pipeline.emulator, job) == 0


def test_time_waiting_for_a_slot_does_not_count_towards_the_give_up(pipeline, settings):
    settings.GENERATIONS_SUBMIT_GIVE_UP_SECONDS = 120
    job = _create(pipeline, "a storm #error500")
    # The job waited a long time in the queue before its first refusal.
    GenerationJob.objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(hours=2))
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.QUEUED, "a first refusal after a long wait for a slot must be retried"


def test_a_queued_job_waiting_for_a_slot_says_so_with_its_position(pipeline, settings):
    providers = {name: dict(config) for name, config in settings.PROVIDERS.items()}
    providers["wavespeed"]["CONCURRENCY"] = 1
    settings.PROVIDERS = providers
    world = pipeline.world
    jobs = [_create(pipeline, f"a quiet lake {n}") for n in range(3)]
    # Only the dispatch runs (no submit): the first job takes the one slot, the others wait.
    dispatch_queued()
    for job in jobs:
        job.refresh_from_db()
    waiting = [job for job in jobs if job.state == State.QUEUED]
    assert len(waiting) == 2
    assert wait_reason(waiting[0]) == "Waiting for a free WaveSpeed slot (you are next)."
    assert wait_reason(waiting[1]) == "Waiting for a free WaveSpeed slot (1 ahead of you)."
    assert world  # the jobs belong to the world's member


def test_cancel_requested_while_rendering_says_the_charge_follows_the_outcome(pipeline):
    job = _create(pipeline, "a quiet lake")
    GenerationJob.objects.filter(pk=job.pk).update(state=State.RUNNING, cancel_requested=True)
    job.refresh_from_db()
    assert wait_reason(job) == "Cancel requested: WaveSpeed is still rendering; the charge follows its outcome."
