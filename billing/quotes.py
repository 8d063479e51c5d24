"""Quotes: what a job would cost and whether it may run now. One function prices the composer form, the API and
the hold (the pipeline holds ``quote.credits`` from ``quote.wallet_id``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from billing.errors import UnknownRate
from billing.metering import active_rate_card, billed_seconds, rate_per_second
from billing.spending import spending_refusal
from billing.wallets import cap_status, wallet_for_spending
from studio.teams.access import PERMISSION_LABELS, Perm, membership_for, role_allows

if TYPE_CHECKING:
    from studio.accounts.models import User
    from studio.teams.models import Team


@dataclass(frozen=True)
class Quote:
    credits: int
    rate_per_second: int
    seconds: int
    rate_card_version: int
    wallet_id: int
    wallet_label: str
    balance: int
    balance_after: int
    cap_remaining: int | None  # None = no cap or budget applies
    blocked_reason: str  # '' when the job may be queued now, else a human message

    @property
    def ok(self) -> bool:
        return not self.blocked_reason


def quote_job(*, user: User, team: Team, resolution: str, duration: int, audio: bool) -> Quote:
    """Price a job of ``duration`` seconds and say whether ``user`` may start it in ``team`` now. Never raises for
    business reasons: an unknown resolution, a missing permission, a frozen wallet, a cap or too few credits all come
    back as ``blocked_reason``. (The hold re-checks everything atomically; a quote is advice.)"""
    card = active_rate_card()
    wallet = wallet_for_spending(user=user, team=team)
    seconds = billed_seconds(duration)
    try:
        rate = rate_per_second(resolution=resolution, audio=audio, rate_card=card)
    except UnknownRate as exc:
        rate, blocked = 0, str(exc)
    else:
        blocked = ""
    credits = rate * seconds
    caps = cap_status(wallet=wallet, user=user, team=team)
    cap_remaining = caps.remaining if caps is not None else None
    membership = membership_for(user, team)
    if not blocked and (membership is None or not role_allows(membership.role, Perm.GENERATE)):
        blocked = f"Your role may not {PERMISSION_LABELS[Perm.GENERATE]} in {team}."
    if not blocked:
        # The same check the hold makes (billing.spending), so the composer and the hold agree on every rule.
        refusal = spending_refusal(wallet=wallet, amount=credits, caps=caps)
        blocked = str(refusal) if refusal is not None else ""
    return Quote(
        credits=credits,
        rate_per_second=rate,
        seconds=seconds,
        rate_card_version=card.version,
        wallet_id=wallet.pk,
        wallet_label=wallet.label,
        balance=wallet.balance,
        balance_after=wallet.balance - credits,
        cap_remaining=cap_remaining,
        blocked_reason=blocked,
    )
