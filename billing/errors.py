"""Billing errors. Every message is written for the person who will read it (the composer shows ``str(error)``)."""

from __future__ import annotations


class BillingError(Exception):
    """Base class: a billing rule refused the operation. ``str(error)`` is a human message."""


class InsufficientCredits(BillingError):
    def __init__(self, *, need: int, have: int) -> None:
        self.need = need
        self.have = have
        super().__init__(f"Not enough credits: need {need}, have {have}.")


class CapExceeded(BillingError):
    def __init__(self, message: str, *, remaining: int) -> None:
        self.remaining = remaining
        super().__init__(message)


class WalletFrozen(BillingError):
    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(f"This wallet is frozen{': ' + reason if reason else ''}. Contact support.")


class HoldAlreadyResolved(BillingError):
    def __init__(self, key: str, state: str) -> None:
        super().__init__(f"Hold {key} is already {state}; a hold resolves exactly once.")


class DuplicateHold(BillingError):
    """The key already has a hold with a different wallet or amount (the same key and amount returns that hold)."""


class UnknownRate(BillingError):
    """No rate for this resolution/audio in the rate card."""


class StripeNotConfigured(BillingError):
    def __init__(self) -> None:
        super().__init__("Purchasing is not configured on this server; staff can grant credits.")


class OutstandingDebt(BillingError):
    """The wallet owes credits (a refund or dispute after they were spent): no new holds until a credit pays it off.
    Not a freeze: buying credits clears it, no support needed."""

    def __init__(self, *, owed: int, label: str = "This wallet") -> None:
        self.owed = owed
        super().__init__(f"{label} owes {owed} credits after a refund; buy credits to pay them off.")
