from __future__ import annotations

import pytest

from billing.errors import UnknownRate
from billing.metering import active_rate_card, billed_seconds, price_credits
from billing.rate_cards import rate_card_publish

# DESIGN.md §4, written out again on purpose: the test must not read the table it checks.
TABLE = {
    "360p": (6, 8),
    "540p": (8, 10),
    "720p": (10, 13),
    "1080p": (19, 24),
}
CELLS = [(res, audio, rates[int(audio)]) for res, rates in TABLE.items() for audio in (False, True)]


@pytest.mark.django_db
@pytest.mark.parametrize("seconds", [1, 5, 15])
@pytest.mark.parametrize(("resolution", "audio", "rate"), CELLS)
def test_price_credits_default_table(resolution: str, audio: bool, rate: int, seconds: int) -> None:
    assert price_credits(seconds=seconds, resolution=resolution, audio=audio) == rate * seconds


@pytest.mark.parametrize(
    ("seconds", "billed"), [(0, 0), (0.2, 1), (1.0, 1), (4.01, 5), (5.0000000001, 5), (5.5, 6), (14.999, 15)]
)
def test_billed_seconds_round_up(seconds: float, billed: int) -> None:
    assert billed_seconds(seconds) == billed


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf")])
def test_billed_seconds_rejects_nonsense(seconds: float) -> None:
    with pytest.raises(ValueError):
        billed_seconds(seconds)


@pytest.mark.django_db
def test_fractional_seconds_billed_as_next_whole_second() -> None:
    assert price_credits(seconds=5.2, resolution="720p", audio=False) == 60


@pytest.mark.django_db
def test_unknown_resolution_raises() -> None:
    with pytest.raises(UnknownRate, match="Unknown resolution"):
        price_credits(seconds=5, resolution="4k", audio=False)


@pytest.mark.django_db
def test_publishing_new_version_keeps_old_prices() -> None:
    old = active_rate_card()
    rates = {(r, a): 100 for r in TABLE for a in (False, True)}
    new = rate_card_publish(rates=rates, note="everything 100")
    old.refresh_from_db()
    assert (old.version, new.version) == (1, 2)
    assert not old.is_active and new.is_active
    assert price_credits(seconds=2, resolution="360p", audio=False) == 200
    assert price_credits(seconds=2, resolution="360p", audio=False, rate_card=old) == 12
    cell = old.cells.get(resolution="360p", audio=False)
    cell.credits_per_second = 1
    with pytest.raises(ValueError, match="immutable"):
        cell.save()


@pytest.mark.django_db
def test_publish_requires_every_cell() -> None:
    with pytest.raises(ValueError, match="every resolution"):
        rate_card_publish(rates={("360p", False): 5})
