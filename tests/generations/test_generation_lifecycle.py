"""The whole lifecycle in-process for every mode × provider: job → video in storage, probed, poster, exact charge,
complete event trail. Services are called by the inline worker; the emulator runs in-process."""

from __future__ import annotations

import itertools

import av
import pytest
from django.core.files.storage import default_storage

from billing.metering import price_credits
from billing.models import HoldState
from generations.models import GenerationJob
from generations.providers.base import Mode
from generations.providers.registry import adapter_class
from generations.services.jobs import JobRequest, generation_create
from generations.services.specs import ReferenceInput
from generations.states import State
from tests.generations.helpers import accepted_for, balance, creates_for, iter_states

COMBOS = [
    (provider, mode)
    for provider in ("wavespeed", "pixverse", "dashscope", "highway")
    for mode in Mode
    if mode in adapter_class(provider).capabilities.modes
]


def request_for(pipeline, mode: Mode, provider: str, **overrides) -> JobRequest:
    fields = {"mode": mode.value, "provider": provider, "duration": 2, "resolution": "360p"}
    if mode == Mode.IMAGE_TO_VIDEO:
        fields.update(prompt="the cat blinks", references=(ReferenceInput(asset=pipeline.cat),))
    elif mode == Mode.REFERENCE_TO_VIDEO:
        fields.update(
            prompt="@cat plays in @park at dusk",
            aspect_ratio="16:9",
            references=(
                ReferenceInput(asset=pipeline.cat, ref_name="cat", type="subject"),
                ReferenceInput(asset=pipeline.park, ref_name="park", type="background"),
            ),
        )
    else:
        fields.update(prompt="a title card that says hello", aspect_ratio="16:9")
    fields.update(overrides)
    return JobRequest(**fields)


@pytest.mark.parametrize(("provider", "mode"), COMBOS, ids=[f"{p}-{m.value}" for p, m in COMBOS])
def test_every_mode_and_provider_ends_with_a_playable_video_and_an_exact_charge(pipeline, provider, mode):
    world = pipeline.world
    before = balance(world.member, world.team)
    job = generation_create(user=world.member, project=world.project, request=request_for(pipeline, mode, provider))
    assert job.state == State.QUEUED
    held = price_credits(seconds=2, resolution="360p", audio=False)
    assert job.quoted_credits == held
    assert balance(world.member, world.team) == before - held

    pipeline.worker.settle(job)

    assert job.state == State.SUCCEEDED, (job.error_code, job.error_message)
    assert default_storage.exists(job.output.name)
    assert default_storage.exists(job.poster.name)
    with default_storage.open(job.output.name, "rb") as handle, av.open(handle) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert job.video_codec == "h264"
    assert job.video_duration == pytest.approx(2, abs=0.2)
    assert job.output_size and job.output_size > 0
    assert job.charged_credits == held
    assert balance(world.member, world.team) == before - held
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.CAPTURED
    assert list(iter_states(job)) == [
        State.QUEUED,
        State.SUBMITTING,
        State.SUBMITTED,
        *([State.RUNNING] if State.RUNNING in iter_states(job) else []),
        State.DOWNLOADING,
        State.SUCCEEDED,
    ]
    assert creates_for(pipeline.emulator, job) == 1
    assert accepted_for(pipeline.emulator, job) == 1
    attempts = list(job.attempts.all())
    assert sum(a.is_create for a in attempts) == 1
    assert all(a.provider == provider for a in attempts)


def test_audio_and_billed_seconds_drive_the_capture(pipeline):
    world = pipeline.world
    job = generation_create(
        user=world.owner,
        project=world.project,
        request=request_for(pipeline, Mode.IMAGE_TO_VIDEO, "dashscope", generate_audio_switch=True, duration=3),
    )
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    assert job.has_audio is True
    seconds = job.billed_seconds if job.billed_seconds is not None else 3
    assert job.charged_credits == price_credits(seconds=seconds, resolution="360p", audio=True)
    assert job.charged_credits <= job.quoted_credits


def test_state_is_only_written_through_transitions(pipeline):
    world = pipeline.world
    job = generation_create(
        user=world.member, project=world.project, request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed")
    )
    pipeline.worker.settle(job)
    events = list(job.events.order_by("at", "id"))
    for earlier, later in itertools.pairwise(events):
        assert earlier.to_state == later.from_state
    assert events[-1].to_state == GenerationJob.objects.get(pk=job.pk).state


def test_an_output_over_the_size_cap_fails_the_job_and_releases_the_hold(pipeline, settings):
    """finalize streams through the guarded download seam: past OUTPUT_MAX_BYTES nothing is stored, nothing charged."""
    settings.OUTPUT_MAX_BYTES = 1_000
    before = balance(pipeline.world.member, pipeline.world.team)
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed"),
    )
    pipeline.worker.settle(job)
    assert job.state == State.FAILED
    assert "1000" in job.events.last().note or "large" in job.error_message.lower(), job.error_message
    assert not job.output and not job.poster
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.RELEASED
    assert balance(pipeline.world.member, pipeline.world.team) == before
    assert accepted_for(pipeline.emulator, job) == 1


def test_an_output_url_on_a_private_address_is_never_fetched(pipeline, settings, monkeypatch):
    """The SSRF guard: a provider answering with an internal URL gets the job failed (and released), not fetched."""
    from generations.providers import wavespeed
    from generations.providers.base import PollResult, ProviderState

    original = wavespeed.WaveSpeedAdapter.poll

    def poisoned(self, provider_job_id):
        result = original(self, provider_job_id)
        if result.state == ProviderState.SUCCEEDED:
            return PollResult(state=result.state, raw_status=result.raw_status, output_url="http://10.0.0.5/x.mp4")
        return result

    monkeypatch.setattr(wavespeed.WaveSpeedAdapter, "poll", poisoned)
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed"),
    )
    pipeline.worker.settle(job)
    assert job.state == State.FAILED
    assert "10.0.0.5" in job.events.last().note or "private" in job.error_message.lower(), job.error_message
    assert not job.output
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.RELEASED
