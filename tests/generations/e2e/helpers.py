"""Shared bits of the end-to-end tests."""

from __future__ import annotations

import av
from django.core.files.storage import default_storage

from billing.metering import price_credits
from generations.models import GenerationJob
from generations.providers.base import Mode
from generations.services.jobs import JobRequest, generation_create
from generations.services.specs import ReferenceInput
from studio.assets.models import Asset


def request(mode: Mode, provider: str, cat: Asset, park: Asset, *, prompt: str = "", **overrides: object) -> JobRequest:
    fields: dict[str, object] = {"mode": mode.value, "provider": provider, "duration": 1, "resolution": "360p"}
    if mode == Mode.IMAGE_TO_VIDEO:
        fields.update(prompt=prompt or "the cat blinks", references=(ReferenceInput(asset=cat),))
    elif mode == Mode.REFERENCE_TO_VIDEO:
        fields.update(
            prompt=f"@cat plays in @park at dusk {prompt}".strip(),
            aspect_ratio="16:9",
            references=(
                ReferenceInput(asset=cat, ref_name="cat", type="subject"),
                ReferenceInput(asset=park, ref_name="park", type="background"),
            ),
        )
    else:
        fields.update(prompt=prompt or "a title card", aspect_ratio="16:9")
    fields.update(overrides)
    return JobRequest(**fields)  # type: ignore[arg-type]


def create(world, mode: Mode, provider: str, cat: Asset, park: Asset, user=None, **kwargs: object) -> GenerationJob:
    return generation_create(
        user=user or world.member, project=world.project, request=request(mode, provider, cat, park, **kwargs)
    )


def assert_playable(job: GenerationJob) -> None:
    assert job.output and default_storage.exists(job.output.name)
    assert job.poster and default_storage.exists(job.poster.name)
    with default_storage.open(job.output.name, "rb") as handle, av.open(handle) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert next(container.decode(stream)) is not None


def expected_charge(job: GenerationJob) -> int:
    seconds = job.billed_seconds if job.billed_seconds is not None else job.duration
    return price_credits(seconds=seconds, resolution=job.resolution, audio=job.generate_audio_switch)
