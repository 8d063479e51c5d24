"""Billing notifications: low balance and 80% of a cap or budget. In-app through ``notify`` (de-duplicated by key)
and by email. Called by the ledger inside its transaction, so a rolled-back hold notifies nobody."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from studio.notifications.services import notify
from studio.teams.access import Perm, members_with

if TYPE_CHECKING:
    from billing.models import Wallet
    from billing.wallets import CapStatus
    from studio.accounts.models import User
    from studio.teams.models import Team

CAP_WARNING_FRACTION = 0.8


def _wallet_readers(wallet: Wallet) -> list[User]:
    """Who hears about a wallet: its owner, or for a team pool everyone allowed to see the team's billing."""
    if wallet.user is not None:
        return [wallet.user]
    return members_with(wallet.team_id, Perm.VIEW_BILLING) if wallet.team_id is not None else []


def _emit_low_balance(*, team_id: int, wallet: Wallet, balance: int, threshold: int) -> None:
    """The team's ``wallet.low_balance`` webhook, after the hold commits (a rolled-back hold emits nothing). Only a
    team's own money is reported to its webhooks: its pool, or the wallet of a personal team's one member."""
    from django.db import transaction

    from studio.webhooks.events import wallet_low_balance

    wallet_id, label = wallet.pk, wallet.label
    transaction.on_commit(
        lambda: wallet_low_balance(
            team_id=team_id, wallet_id=wallet_id, wallet_label=label, balance=balance, threshold=threshold
        )
    )


def _crossed(before: int, after: int, threshold: float) -> bool:
    return before < threshold <= after


def _crossed_share(spent: int, amount: int, limit: int) -> bool:
    """Whether spending ``amount`` more takes ``spent`` past the warning share (80%) of ``limit``."""
    return _crossed(spent, spent + amount, CAP_WARNING_FRACTION * limit)


def after_hold(
    *, wallet: Wallet, balance_before: int, amount: int, user: User, team: Team | None, caps: CapStatus | None
) -> None:
    """Notify about what this hold crossed: the low-balance threshold, 80% of the member's cap or of the team's
    budget. Runs under the wallet's lock (in the hold's transaction, so a rolled-back hold notifies nobody): when
    nothing is crossed, as for almost every hold, it only compares numbers."""
    threshold = settings.LOW_BALANCE_CREDITS
    balance_after = balance_before - amount
    low_balance = balance_before >= threshold > balance_after
    cap = caps.member_cap if caps is not None and team is not None else None
    budget = caps.budget if caps is not None and team is not None else None
    cap_crossed = caps is not None and cap is not None and _crossed_share(caps.member_spent, amount, cap)
    budget_crossed = caps is not None and budget is not None and _crossed_share(caps.team_spent, amount, budget)
    if not (low_balance or cap_crossed or budget_crossed):
        return
    month = timezone.now().strftime("%Y-%m")
    url = reverse("billing:wallet")
    if low_balance:
        if team is not None and (wallet.team_id == team.pk or team.is_personal):
            _emit_low_balance(team_id=team.pk, wallet=wallet, balance=balance_after, threshold=threshold)
        for reader in _wallet_readers(wallet):
            notify(
                user=reader,
                kind="billing.low_balance",
                message=f"Low balance: {wallet.label} has {balance_after} credits left.",
                url=url,
                key=f"billing:low-balance:{wallet.pk}:{balance_before}:{balance_after}",
                email=True,
            )
    if cap_crossed and team is not None:
        notify(
            user=user,
            kind="billing.cap_warning",
            message=f"You have used 80% of your {cap}-credit monthly cap in {team}.",
            url=url,
            key=f"billing:cap80:{team.pk}:{user.pk}:{month}",
            email=True,
        )
    if budget_crossed and team is not None:
        for reader in _wallet_readers(wallet):
            notify(
                user=reader,
                kind="billing.budget_warning",
                message=f"{team} has used 80% of its {budget}-credit monthly budget.",
                url=url,
                key=f"billing:budget80:{team.pk}:{month}",
                email=True,
            )
