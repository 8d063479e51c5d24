"""Rate card services: publishing a new version is the only way to change prices (old versions stay as they were,
because holds and jobs reference them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Max

from billing.models import RateCard, RateCardCell, Resolution

if TYPE_CHECKING:
    from studio.accounts.models import User


@transaction.atomic
def rate_card_publish(
    *,
    rates: dict[tuple[str, bool], int],
    provider_costs: dict[tuple[str, bool], dict[str, float]] | None = None,
    note: str = "",
    created_by: User | None = None,
    card: RateCard | None = None,
) -> RateCard:
    """Create rate card version N+1 with ``rates`` (every resolution × audio cell, credits per second > 0) and make it
    the active one. ``card`` may be an unsaved instance (the admin's form) to fill in. Invariant: exactly one active
    card; existing versions are never modified."""
    expected = {(r, a) for r in Resolution.values for a in (False, True)}
    if set(rates) != expected:
        raise ValueError("A rate card needs a price for every resolution, with and without audio.")
    if any(int(v) <= 0 for v in rates.values()):
        raise ValueError("Every rate must be a positive number of credits per second.")
    # Lock the active card so two publishers cannot both become "next".
    list(RateCard.objects.select_for_update().filter(is_active=True))
    RateCard.objects.filter(is_active=True).update(is_active=False)
    next_version = (RateCard.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    card = card if card is not None else RateCard()
    card.version = next_version
    card.is_active = True
    card.note = note or card.note
    card.created_by = created_by
    card.save()
    costs = provider_costs or {}
    RateCardCell.objects.bulk_create(
        RateCardCell(
            rate_card=card,
            resolution=resolution,
            audio=audio,
            credits_per_second=int(rates[(resolution, audio)]),
            provider_costs=costs.get((resolution, audio), {}),
        )
        for resolution, audio in sorted(expected)
    )
    return card
