"""Metering: what a number of seconds at a resolution costs, in integer credits. Pure apart from reading the rate card.

Rounding: billed seconds are rounded UP to the next whole second (``ceil``). The rate card is "credits per second"
and credits are integers, so some rounding is unavoidable; rounding up means a quote (made on the requested whole
seconds) is never lower than a capture for the same duration, so a hold always covers its capture, and a provider
reporting 5.04 s is billed like the 6 s clip our users would call it. A tiny tolerance (1e-6 s) keeps float noise
such as 5.0000000001 from costing a whole extra second.
"""

from __future__ import annotations

import math

from django.db import IntegrityError, transaction

from billing.errors import UnknownRate
from billing.models import RateCard, RateCardCell, Resolution

# The default table of DESIGN.md §4 (credits per second), installed as rate card v1 by migration 0003.
DEFAULT_RATES: dict[tuple[str, bool], int] = {
    ("360p", False): 6,
    ("360p", True): 8,
    ("540p", False): 8,
    ("540p", True): 10,
    ("720p", False): 10,
    ("720p", True): 13,
    ("1080p", False): 19,
    ("1080p", True): 24,
}

_FLOAT_TOLERANCE = 1e-6


def billed_seconds(seconds: float) -> int:
    """Whole seconds billed for ``seconds`` of video (rounded up; see the module docstring)."""
    if seconds < 0 or math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"Seconds must be a finite, non-negative number, not {seconds!r}.")
    return max(0, math.ceil(seconds - _FLOAT_TOLERANCE))


def active_rate_card() -> RateCard:
    """The active rate card. A database with no rate card at all (migration 0003 installs v1, but a test flush or a
    restore may wipe it) gets the DESIGN.md default as v1 again; cards existing but none active is an error."""
    card = RateCard.objects.filter(is_active=True).first()
    if card is not None:
        return card
    if not RateCard.objects.exists():
        from billing.rate_cards import rate_card_publish

        try:
            with transaction.atomic():
                return rate_card_publish(rates=DEFAULT_RATES, note="DESIGN.md §4 default (re-installed)")
        except IntegrityError:  # installed concurrently
            card = RateCard.objects.filter(is_active=True).first()
            if card is not None:
                return card
    raise UnknownRate("No active rate card; staff must publish one in the admin.")


def rate_per_second(*, resolution: str, audio: bool, rate_card: RateCard | None = None) -> int:
    card = rate_card or active_rate_card()
    if resolution not in Resolution.values:
        raise UnknownRate(f"Unknown resolution {resolution!r}; choose one of {', '.join(Resolution.values)}.")
    cell = RateCardCell.objects.filter(rate_card=card, resolution=resolution, audio=audio).first()
    if cell is None:
        raise UnknownRate(f"Rate card v{card.version} has no price for {resolution}{' with audio' if audio else ''}.")
    return cell.credits_per_second


def price_credits(*, seconds: float, resolution: str, audio: bool, rate_card: RateCard | None = None) -> int:
    """Integer credits for ``seconds`` of video: rate (credits/s, from ``rate_card`` or the active one) × billed
    seconds (rounded up). The single pricing function: quotes, holds and captures all use it."""
    return rate_per_second(resolution=resolution, audio=audio, rate_card=rate_card) * billed_seconds(seconds)
