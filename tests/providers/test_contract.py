"""The contract every adapter keeps, run against the in-process emulator (one suite, four providers).

For every mode a provider supports: submit → queued → running → succeeded, exactly one paid create per job, and a
downloadable MP4 whose duration, frame size and audio track match the request (probed with PyAV). Then the forced
outcomes (failure, moderation, refusals, ambiguous creates) map to the same normalized results on every provider.
"""

from __future__ import annotations

import dataclasses
import io
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from generations.providers.base import JobSpec, Mode, ProviderState, Reference
from generations.providers.dimensions import closest_aspect_ratio, output_dimensions
from generations.providers.errors import (
    AmbiguousSubmitError,
    ConcurrencyFullError,
    RateLimitedError,
    TransientError,
)
from generations.providers.http import download
from generations.providers.registry import ADAPTERS
from tests.providers.conftest import EmulatorSetup, emulator_setup

QUEUE_SECONDS = 10.0
RUN_SECONDS = 10.0
MAX_BYTES = 50 * 1024 * 1024
IMAGE_SIZE = (96, 64)  # 3:2 → i2v output follows it

CASES = [(name, mode) for name, adapter in ADAPTERS.items() for mode in sorted(adapter.capabilities.modes)]
CASE_IDS = [f"{name}-{mode.value}" for name, mode in CASES]
# PixVerse's documented enum has no "queued" (9 is only seen in its web CLI): a waiting job reads 5, "generating".
QUEUED_AS = {name: ProviderState.RUNNING if name == "pixverse" else ProviderState.QUEUED for name in ADAPTERS}
# One mode per provider for the outcome tests.
ANY_MODE = {name: sorted(adapter.capabilities.modes)[0] for name, adapter in ADAPTERS.items()}


@pytest.fixture
def timed_emulator(settings: Any, tmp_path: Path) -> Any:
    """The emulator with a real timeline driven by its clock (``advance``), so every state can be observed."""
    with emulator_setup(settings, tmp_path / "media", queue_seconds=QUEUE_SECONDS, run_seconds=RUN_SECONDS) as setup:
        yield setup


def advance(emulator: EmulatorSetup, seconds: float) -> None:
    emulator.control("POST", "clock", json={"advance": seconds}).raise_for_status()


def creates_for(emulator: EmulatorSetup, spec: JobSpec) -> int:
    response = emulator.control("GET", "creates", params={"key": str(spec.job_id)})
    response.raise_for_status()
    return int(response.json()["count"])


def build_spec(emulator: EmulatorSetup, mode: Mode, **overrides: Any) -> JobSpec:
    import uuid

    fields: dict[str, Any] = {
        "job_id": uuid.uuid4(),
        "mode": mode,
        "prompt": "a cat walks in a park",
        "resolution": "360p",
        "duration": 2,
        "generate_audio_switch": True,
    }
    if mode == Mode.IMAGE_TO_VIDEO:
        fields["image"] = emulator.image("input.png", width=IMAGE_SIZE[0], height=IMAGE_SIZE[1])
    else:
        fields["aspect_ratio"] = "9:16"
    if mode == Mode.REFERENCE_TO_VIDEO:
        fields["prompt"] = "@cat plays in @park at dusk"
        fields["references"] = (
            Reference(ref_name="cat", type="subject", image=emulator.image("cat.png", colour=(10, 200, 10))),
            Reference(ref_name="park", type="background", image=emulator.image("park.png", colour=(10, 10, 200))),
        )
    fields.update(overrides)
    return JobSpec(**fields)


def expected_size(spec: JobSpec) -> tuple[int, int]:
    ratio = closest_aspect_ratio(*IMAGE_SIZE) if spec.mode == Mode.IMAGE_TO_VIDEO else spec.aspect_ratio
    return output_dimensions(spec.resolution, ratio or "16:9")


def probe(data: bytes) -> dict[str, Any]:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        duration = (
            float(container.duration / av.time_base) if container.duration else float(video.duration * video.time_base)
        )
        return {
            "codec": video.codec_context.name,
            "size": (video.codec_context.width, video.codec_context.height),
            "duration": duration,
            "audio": len(container.streams.audio) > 0,
            "fps": Fraction(video.average_rate) if video.average_rate else None,
        }


@pytest.mark.parametrize(("name", "mode"), CASES, ids=CASE_IDS)
def test_lifecycle_to_a_matching_mp4(timed_emulator: EmulatorSetup, name: str, mode: Mode) -> None:
    adapter = timed_emulator.adapter(name)
    spec = build_spec(timed_emulator, mode, generate_audio_switch=mode != Mode.TEXT_TO_VIDEO)

    submitted = adapter.submit(spec)
    assert submitted.provider_job_id
    assert submitted.state == ProviderState.QUEUED
    assert adapter.poll(submitted.provider_job_id).state == QUEUED_AS[name]

    advance(timed_emulator, QUEUE_SECONDS + 0.5)
    assert adapter.poll(submitted.provider_job_id).state == ProviderState.RUNNING

    advance(timed_emulator, RUN_SECONDS)
    done = adapter.poll(submitted.provider_job_id)
    assert done.state == ProviderState.SUCCEEDED, done
    assert done.output_url

    out = io.BytesIO()
    size = download(done.output_url, out, max_bytes=MAX_BYTES, provider=name)
    assert size == len(out.getvalue()) > 0
    video = probe(out.getvalue())
    assert video["codec"] == "h264"
    assert video["size"] == expected_size(spec)
    assert abs(video["duration"] - spec.duration) < 0.25
    assert video["audio"] is spec.generate_audio_switch
    if done.billed_seconds is not None:
        assert done.billed_seconds == spec.duration
    assert creates_for(timed_emulator, spec) == 1


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@pytest.mark.parametrize(("token", "state"), [("#fail", ProviderState.FAILED), ("#moderate", ProviderState.MODERATED)])
def test_forced_outcomes(emulator: EmulatorSetup, name: str, token: str, state: ProviderState) -> None:
    adapter = emulator.adapter(name)
    spec = build_spec(emulator, ANY_MODE[name])
    spec = dataclasses.replace(spec, prompt=f"{spec.prompt} {token}")
    submitted = adapter.submit(spec)
    result = adapter.poll(submitted.provider_job_id)
    assert result.state == state
    assert not result.output_url


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@pytest.mark.parametrize("token", ["#timeout", "#reset", "#malformed"])
def test_create_answer_lost_is_ambiguous_and_counted_once(emulator: EmulatorSetup, name: str, token: str) -> None:
    adapter = emulator.adapter(name)
    spec = build_spec(emulator, ANY_MODE[name])
    spec = dataclasses.replace(spec, prompt=f"{spec.prompt} {token}")
    with pytest.raises(AmbiguousSubmitError):
        adapter.submit(spec)
    assert creates_for(emulator, spec) == 1


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("#ratelimit", RateLimitedError),
        ("#error500", TransientError),
        ("#error503", TransientError),
        ("#fail200", TransientError),
    ],
)
def test_refusals_are_not_accepted(emulator: EmulatorSetup, name: str, token: str, error: type[Exception]) -> None:
    adapter = emulator.adapter(name)
    spec = build_spec(emulator, ANY_MODE[name])
    spec = dataclasses.replace(spec, prompt=f"{spec.prompt} {token}")
    with pytest.raises(error) as caught:
        adapter.submit(spec)
    if isinstance(caught.value, RateLimitedError):
        assert caught.value.retry_after == 2.0


@pytest.mark.parametrize("name", ["pixverse", "dashscope", "highway"])
def test_concurrency_full_is_not_accepted(emulator: EmulatorSetup, name: str) -> None:
    adapter = emulator.adapter(name)
    spec = build_spec(emulator, ANY_MODE[name])
    with pytest.raises(ConcurrencyFullError if name == "pixverse" else RateLimitedError):
        adapter.submit(dataclasses.replace(spec, prompt=f"{spec.prompt} #busy"))


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@pytest.mark.parametrize("fault", ["connect_error", "connect_timeout"])
def test_connect_failures_are_transient_and_not_counted(emulator: EmulatorSetup, name: str, fault: str) -> None:
    emulator.arm(provider=name, fault=fault, on="create")
    spec = build_spec(emulator, ANY_MODE[name])
    with pytest.raises(TransientError):
        emulator.adapter(name).submit(spec)
    assert creates_for(emulator, spec) == 0


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_a_failed_poll_is_transient_and_the_job_still_completes(emulator: EmulatorSetup, name: str) -> None:
    adapter = emulator.adapter(name)
    spec = build_spec(emulator, ANY_MODE[name])
    submitted = adapter.submit(dataclasses.replace(spec, prompt=f"{spec.prompt} #poll-error503"))
    with pytest.raises(TransientError):
        adapter.poll(submitted.provider_job_id)
    assert adapter.poll(submitted.provider_job_id).state == ProviderState.SUCCEEDED


def test_wavespeed_nsfw_flag_is_moderated(emulator: EmulatorSetup) -> None:
    adapter = emulator.adapter("wavespeed")
    spec = build_spec(emulator, Mode.TEXT_TO_VIDEO)
    submitted = adapter.submit(dataclasses.replace(spec, prompt=f"{spec.prompt} #nsfw"))
    result = adapter.poll(submitted.provider_job_id)
    assert (result.state, result.nsfw) == (ProviderState.MODERATED, True)


def test_dashscope_cancel_only_while_pending(timed_emulator: EmulatorSetup) -> None:
    adapter = timed_emulator.adapter("dashscope")
    first = adapter.submit(build_spec(timed_emulator, Mode.IMAGE_TO_VIDEO))
    assert adapter.cancel(first.provider_job_id) is True
    assert adapter.poll(first.provider_job_id).state == ProviderState.CANCELED
    second = adapter.submit(build_spec(timed_emulator, Mode.IMAGE_TO_VIDEO))
    advance(timed_emulator, QUEUE_SECONDS + 0.5)
    assert adapter.cancel(second.provider_job_id) is False


def test_highway_output_url_has_a_ttl(emulator: EmulatorSetup) -> None:
    adapter = emulator.adapter("highway")
    submitted = adapter.submit(build_spec(emulator, Mode.TEXT_TO_VIDEO))
    result = adapter.poll(submitted.provider_job_id)
    assert result.state == ProviderState.SUCCEEDED
    assert result.output_url_ttl == 3600
