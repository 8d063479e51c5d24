"""Output frame sizes for a (resolution, aspect ratio) pair. Shared by the adapters and the emulator.

Invariants: the *short* side equals the resolution's number (360/540/720/1080); both sides are even (H.264 with
4:2:0 chroma needs even sizes); the long side is the short side times the ratio, rounded to the nearest even number.
So 16:9 at 720p is 1280x720 and 9:16 at 720p is 720x1280.
"""

from __future__ import annotations

from fractions import Fraction

from generations.providers.base import ASPECT_RATIOS, RESOLUTIONS

SHORT_SIDES: dict[str, int] = {"360p": 360, "540p": 540, "720p": 720, "1080p": 1080}
DEFAULT_ASPECT_RATIO = "16:9"


def _even(value: Fraction) -> int:
    return 2 * round(value / 2)


def parse_aspect_ratio(aspect_ratio: str) -> Fraction:
    """Return width/height for one of ``ASPECT_RATIOS``; raise ``ValueError`` for anything else."""
    if aspect_ratio not in ASPECT_RATIOS:
        raise ValueError(f"unknown aspect ratio {aspect_ratio!r}; expected one of {', '.join(ASPECT_RATIOS)}")
    width, height = aspect_ratio.split(":")
    return Fraction(int(width), int(height))


def output_dimensions(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """Return ``(width, height)`` of a video at ``resolution`` (e.g. "720p") and ``aspect_ratio`` (e.g. "16:9")."""
    if resolution not in SHORT_SIDES:
        raise ValueError(f"unknown resolution {resolution!r}; expected one of {', '.join(RESOLUTIONS)}")
    short = SHORT_SIDES[resolution]
    ratio = parse_aspect_ratio(aspect_ratio)
    if ratio >= 1:
        return _even(short * ratio), short
    return short, _even(short / ratio)


def closest_aspect_ratio(width: int, height: int) -> str:
    """Return the supported aspect ratio nearest to a ``width``x``height`` image (image-to-video follows the image)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    actual = Fraction(width, height)
    return min(ASPECT_RATIOS, key=lambda ratio: abs(parse_aspect_ratio(ratio) - actual))
