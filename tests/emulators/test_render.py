"""The renderer writes real H.264/yuv420p MP4s of the requested size and duration, with audio iff asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from generations.emulators.render import FPS, RenderSpec, render_mp4, work_size
from tests.emulators.conftest import png, probe


@pytest.mark.parametrize(
    ("spec", "audio"),
    [
        (RenderSpec(640, 360, 2, (png(800, 450),)), False),  # i2v pan/zoom
        (RenderSpec(480, 360, 2, (png(), png(colour=(0, 90, 200)), png(colour=(10, 200, 20))), audio=True), True),
        (RenderSpec(360, 640, 1, prompt="a cat in a hat, dancing on the moon"), False),  # t2v title card
    ],
)
def test_render_produces_the_requested_clip(tmp_path: Path, spec: RenderSpec, audio: bool) -> None:
    path = render_mp4(spec, tmp_path / "out.mp4")
    info = probe(path.read_bytes())
    assert info.codec == "h264"
    assert (info.width, info.height) == (spec.width, spec.height)
    assert abs(info.duration - spec.duration) <= 1 / FPS
    assert info.frames == spec.duration * FPS
    assert info.pix_fmt == "yuv420p"
    assert info.has_audio is audio


def test_watermark_and_large_sizes_are_composed_small(tmp_path: Path) -> None:
    assert work_size(1920, 1080) == (960, 540)
    assert work_size(640, 360) == (640, 360)
    path = render_mp4(RenderSpec(1280, 720, 1, (png(),), watermark=True), tmp_path / "hd.mp4")
    assert (probe(path.read_bytes()).width, probe(path.read_bytes()).height) == (1280, 720)


def test_render_replaces_the_target_atomically(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    render_mp4(RenderSpec(320, 180, 1, (png(),)), target)
    assert target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_undecodable_image_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a decodable image"):
        render_mp4(RenderSpec(320, 180, 1, (b"not an image",)), tmp_path / "bad.mp4")
    assert not (tmp_path / "bad.mp4").exists()
