"""THE spending check: may ``amount`` credits be spent from a wallet now? One function serves the quote (advice,
shown in the composer before anything is held) and the hold (the decision, under the wallet's row lock), so the two
can never disagree about the rules or their messages.

The rules, in order: a frozen wallet spends nothing (``WalletFrozen``: support must look); a wallet that owes credits
after a refund spends nothing until a credit pays the debt (``OutstandingDebt``: the user can fix it); the member's
monthly cap and the team's monthly budget on pool spending (``CapExceeded``, read from the O(1) month counters);
then the balance (``InsufficientCredits``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing.errors import BillingError, CapExceeded, InsufficientCredits, OutstandingDebt, WalletFrozen
from billing.wallets import CapStatus

if TYPE_CHECKING:
    from billing.models import Wallet


def spending_refusal(*, wallet: Wallet, amount: int, caps: CapStatus | None) -> BillingError | None:
    """The reason ``amount`` credits may not be spent from ``wallet`` (with ``caps`` from ``wallets.cap_status``),
    or ``None`` if they may. The quote shows ``str()`` of it; the hold raises it."""
    if wallet.frozen:
        return WalletFrozen(wallet.frozen_reason)
    if wallet.debt > 0:
        return OutstandingDebt(owed=wallet.debt, label=wallet.label)
    if caps is not None:
        if caps.member_cap is not None and caps.member_spent + amount > caps.member_cap:
            left = max(0, caps.member_cap - caps.member_spent)
            return CapExceeded(
                f"Over the monthly limit: this needs {amount} credits but only {left} of your "
                f"{caps.member_cap}-credit monthly cap is left.",
                remaining=left,
            )
        if caps.budget is not None and caps.team_spent + amount > caps.budget:
            left = max(0, caps.budget - caps.team_spent)
            return CapExceeded(
                f"Over the monthly limit: this needs {amount} credits but only {left} of the team's "
                f"{caps.budget}-credit monthly budget is left.",
                remaining=left,
            )
    if wallet.balance < amount:
        return InsufficientCredits(need=amount, have=wallet.balance)
    return None


SPENDABLE_SQL = "NOT frozen AND debt <= 0 AND balance >= %s"
"""The rules above that read only the wallet's own row (not frozen, no debt, enough balance), as a ``WHERE`` on the
wallet table with the amount as its one parameter. A hold's conditional update uses it, so that on PostgreSQL one
statement takes the row lock and moves the balance when the hold is allowed (``ledger.hold``'s fast path). It is a
filter, not the decision: ``spending_refusal`` still judges the row that statement returns, and when it refuses, the
hold looks at the locked row in Python. ``tests/billing/test_spending_sql.py`` checks it against ``spending_refusal``
for any wallet state and amount."""
