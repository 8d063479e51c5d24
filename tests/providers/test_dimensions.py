"""Output sizes: short side = resolution, even sides, long side by the ratio."""

from __future__ import annotations

from fractions import Fraction

import pytest

from generations.providers.base import ASPECT_RATIOS, RESOLUTIONS
from generations.providers.dimensions import closest_aspect_ratio, output_dimensions


@pytest.mark.parametrize(
    "resolution,aspect_ratio,size",
    [
        ("720p", "16:9", (1280, 720)),
        ("720p", "9:16", (720, 1280)),
        ("1080p", "16:9", (1920, 1080)),
        ("360p", "16:9", (640, 360)),
        ("540p", "16:9", (960, 540)),
        ("720p", "1:1", (720, 720)),
        ("720p", "4:3", (960, 720)),
        ("720p", "21:9", (1680, 720)),
        ("540p", "3:2", (810, 540)),
        ("360p", "2:3", (360, 540)),
        ("1080p", "3:4", (1080, 1440)),
    ],
)
def test_known_sizes(resolution: str, aspect_ratio: str, size: tuple[int, int]) -> None:
    assert output_dimensions(resolution, aspect_ratio) == size


@pytest.mark.parametrize("resolution", RESOLUTIONS)
@pytest.mark.parametrize("aspect_ratio", ASPECT_RATIOS)
def test_invariants(resolution: str, aspect_ratio: str) -> None:
    width, height = output_dimensions(resolution, aspect_ratio)
    assert width % 2 == 0 and height % 2 == 0
    assert min(width, height) == int(resolution.removesuffix("p"))
    w, h = (int(part) for part in aspect_ratio.split(":"))
    assert abs(Fraction(width, height) - Fraction(w, h)) < Fraction(1, 50)


@pytest.mark.parametrize("resolution,aspect_ratio", [("4k", "16:9"), ("720p", "5:4"), ("720P", "16:9")])
def test_unknown_values_raise(resolution: str, aspect_ratio: str) -> None:
    with pytest.raises(ValueError):
        output_dimensions(resolution, aspect_ratio)


@pytest.mark.parametrize(
    "size,ratio",
    [
        ((1920, 1080), "16:9"),
        ((1080, 1920), "9:16"),
        ((1000, 1000), "1:1"),
        ((2520, 1080), "21:9"),
        ((1200, 900), "4:3"),
    ],
)
def test_closest_aspect_ratio(size: tuple[int, int], ratio: str) -> None:
    assert closest_aspect_ratio(*size) == ratio
