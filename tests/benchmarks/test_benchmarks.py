"""Speed and memory, measured (`make bench`), never asserted against a clock.

In `make test` these run once each with timing disabled (pytest-benchmark's --benchmark-disable), so they stay
working code; `make bench` times them and prints the table. Memory goals are measured with tracemalloc and reported
as extra info, with one generous ceiling that catches "the whole file was decoded/buffered" regressions.
"""

from __future__ import annotations

import io
import tracemalloc
import uuid
from pathlib import Path

import av
import pytest
from PIL import Image

from billing import ledger
from billing.quotes import quote_job
from billing.wallets import personal_wallet
from generations.emulators.render import RenderSpec, render_mp4, sample_image
from generations.providers.base import ImageInput, JobSpec, Mode, Reference
from generations.providers.dimensions import output_dimensions
from generations.validation import validate_spec
from studio.assets.validation import inspect_image
from tests.factories import MembershipFactory, TeamFactory, UserFactory


def test_render_a_5s_720p_clip_with_audio(benchmark, tmp_path: Path) -> None:
    """The emulators' renderer: what a keyless `make run` user waits for per video."""
    width, height = output_dimensions("720p", "16:9")
    spec = RenderSpec(width=width, height=height, duration=5, images=(sample_image(),), audio=True)
    out = benchmark.pedantic(render_mp4, args=(spec, tmp_path / "clip.mp4"), rounds=2, iterations=1)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert len(container.streams.audio) == 1


def test_validate_a_seven_reference_spec(benchmark) -> None:
    refs = tuple(
        Reference(
            ref_name=f"ref_{i}",
            type="subject" if i % 2 else "background",
            image=ImageInput(sha256=str(i), url=f"https://media.example.com/{i}.png"),
        )
        for i in range(7)
    )
    prompt = " ".join(f"@ref_{i} walks" for i in range(7)) + " into the sunset"
    spec = JobSpec(
        job_id=uuid.uuid4(), mode=Mode.REFERENCE_TO_VIDEO, prompt=prompt, references=refs, aspect_ratio="16:9"
    )
    assert benchmark(validate_spec, spec, provider="wavespeed") == []  # every reference is named in the prompt


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_inspect_a_4000px_upload_memory(benchmark) -> None:
    """Validating and cleaning an upload: time, and peak Python memory (a 4000×3000 RGB image is 36 MB decoded)."""
    data = _png(4000, 3000)

    def run() -> object:
        return inspect_image(io.BytesIO(data), filename="big.png", size=len(data))

    tracemalloc.start()
    cleaned = run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    benchmark.extra_info["peak_python_mb"] = round(peak / 1e6, 1)
    benchmark.pedantic(run, rounds=3, iterations=1)
    assert cleaned is not None
    assert peak < 400e6, f"cleaning one image peaked at {peak / 1e6:.0f} MB of Python memory"


@pytest.mark.django_db
def test_quote_then_hold_then_capture(benchmark) -> None:
    """The money path of one job: quote, hold, capture (three ledger transactions' worth of writes)."""
    team = TeamFactory()
    user = UserFactory(active_team=team)
    MembershipFactory(team=team, user=user, role="owner")
    wallet = personal_wallet(user=user)
    ledger.grant(wallet=wallet, amount=10_000_000, reason="benchmark", created_by=None)

    def one_job() -> None:
        quote = quote_job(user=user, team=team, resolution="720p", duration=5, audio=False)
        held = ledger.hold(wallet=wallet, amount=quote.credits, key=str(uuid.uuid4()), user=user, team=team)
        ledger.capture(hold=held, amount=quote.credits)

    benchmark.pedantic(one_job, rounds=20, iterations=1)
    wallet.refresh_from_db()
    assert wallet.balance < 10_000_000
