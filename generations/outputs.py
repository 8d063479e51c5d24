"""Outputs: stream a provider's video into a temporary file (SSRF guard + size cap), check it with PyAV, extract a
poster frame. No database access here; ``generations.services.finalize`` stores the results.

Invariant: ``fetch_output`` returns only for a file that PyAV decodes as a video with at least one frame; anything
else raises ``InvalidOutput`` (permanent) or the download's ``TransientError``/``PermanentError``.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from typing import IO

import av
from django.conf import settings
from PIL import Image

from generations.providers import http

POSTER_MAX_SIDE = 1280


class InvalidOutput(Exception):
    """The downloaded file is not a playable video."""


@dataclass(frozen=True)
class VideoProbe:
    codec: str
    width: int
    height: int
    duration: float
    has_audio: bool
    size: int


@dataclass
class FetchedOutput:
    """A downloaded, checked output: the temp file (caller closes it), its probe and the poster JPEG bytes."""

    file: IO[bytes]
    probe: VideoProbe
    poster_jpeg: bytes


def probe_video(fileobj: IO[bytes], *, size: int) -> tuple[VideoProbe, bytes]:
    """Probe a video with PyAV and render its first frame as a JPEG poster. Raises ``InvalidOutput``."""
    fileobj.seek(0)
    try:
        with av.open(fileobj, mode="r") as container:
            if not container.streams.video:
                raise InvalidOutput("the file has no video stream")
            stream = container.streams.video[0]
            has_audio = bool(container.streams.audio)
            if container.duration is not None:
                duration = float(container.duration) / av.time_base
            elif stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * Fraction(stream.time_base))
            else:
                duration = 0.0
            frame = next(container.decode(stream), None)
            if frame is None:
                raise InvalidOutput("the video has no decodable frame")
            image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
            codec = stream.codec_context.name
            width, height = stream.codec_context.width, stream.codec_context.height
    except InvalidOutput:
        raise
    except (av.error.FFmpegError, ValueError, StopIteration) as exc:
        raise InvalidOutput(f"the file is not a readable video ({type(exc).__name__})") from exc
    image.thumbnail((POSTER_MAX_SIDE, POSTER_MAX_SIDE))
    poster = io.BytesIO()
    image.convert("RGB").save(poster, format="JPEG", quality=85)
    probe = VideoProbe(codec=codec, width=width, height=height, duration=duration, has_audio=has_audio, size=size)
    return probe, poster.getvalue()


def fetch_output(url: str, *, provider: str) -> FetchedOutput:
    """Download ``url`` through ``http.download`` (SSRF guard, ``OUTPUT_MAX_BYTES`` cap) and check it."""
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    try:
        size = http.download(url, tmp, max_bytes=int(settings.OUTPUT_MAX_BYTES), provider=provider)
        probe, poster = probe_video(tmp, size=size)
    except BaseException:
        tmp.close()
        raise
    tmp.seek(0)
    return FetchedOutput(file=tmp, probe=probe, poster_jpeg=poster)
