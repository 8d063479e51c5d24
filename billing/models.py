"""Billing data: rate card, wallets, the append-only ledger, holds, team pools and caps, Stripe purchases and events.

Invariants (checked by ``billing.reconcile`` and, where a database can, by the database itself):

- Every ``LedgerTransaction``'s entries sum to zero (double entry). Accounts are the wallets (``account="wallet"``),
  each wallet's debt account (``account="debt"``) and the system accounts below; a system account's balance is simply
  the sum of its entries.
- ``Wallet.balance`` == sum of the wallet's ``wallet`` entries, and is ``>= 0`` (a DB CHECK).
  ``Wallet.debt`` == minus the sum of its ``debt`` entries, and is ``>= 0`` (a DB CHECK).
- Ledger entries and transactions are never updated or deleted (DB triggers, installed by migration 0002).
- ``billing.ledger`` is the only module that creates ledger rows or changes ``Wallet.balance``/``debt``.
- A hold resolves exactly once: ``HoldResolution`` is one-to-one with ``Hold`` (a unique constraint).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class Resolution(models.TextChoices):
    R360 = "360p", "360p"
    R540 = "540p", "540p"
    R720 = "720p", "720p"
    R1080 = "1080p", "1080p"


class RateCard(models.Model):
    """One version of the price list. Exactly one is active. A version is immutable once created, because holds and
    jobs reference it by number: staff "edit" the rate card by publishing a new version (see ``rate_card_publish``)."""

    version = models.PositiveIntegerField(unique=True)
    is_active = models.BooleanField(default=False)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="billing_one_active_rate_card"
            )
        ]

    def __str__(self) -> str:
        return f"Rate card v{self.version}{' (active)' if self.is_active else ''}"


class RateCardCell(models.Model):
    """Credits per second for one resolution × audio combination. ``provider_costs`` optionally maps a provider name
    to what one second costs us there, in credits (for margin reports); it does not affect prices."""

    rate_card = models.ForeignKey(RateCard, on_delete=models.PROTECT, related_name="cells")
    resolution = models.CharField(max_length=8, choices=Resolution.choices)
    audio = models.BooleanField()
    credits_per_second = models.PositiveIntegerField()
    provider_costs = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["rate_card", "resolution", "audio"]
        constraints = [
            models.UniqueConstraint(fields=["rate_card", "resolution", "audio"], name="billing_rate_cell_unique"),
            models.CheckConstraint(condition=models.Q(credits_per_second__gt=0), name="billing_rate_cell_positive"),
        ]

    def __str__(self) -> str:
        audio = " + audio" if self.audio else ""
        return f"v{self.rate_card.version} {self.resolution}{audio}: {self.credits_per_second}/s"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Rate card cells are immutable; publish a new rate card version instead.")
        super().save(*args, **kwargs)


class Wallet(models.Model):
    """Credits that belong to a user (personal wallet) or to a team (the team pool) — exactly one of the two.

    Invariant: ``balance`` == sum of this wallet's ``wallet`` ledger entries, ``balance >= 0`` (DB CHECK).
    ``debt`` is what a refund or dispute could not take back (see ``billing.ledger.stripe_reversal``); it is paid off
    first from any later credit. A frozen wallet cannot place holds."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="wallet"
    )
    team = models.OneToOneField("teams.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="wallet")
    balance = models.BigIntegerField(default=0, editable=False)
    debt = models.BigIntegerField(default=0, editable=False)
    frozen = models.BooleanField(default=False, editable=False)
    frozen_reason = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="billing_wallet_balance_non_negative"),
            models.CheckConstraint(condition=models.Q(debt__gte=0), name="billing_wallet_debt_non_negative"),
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, team__isnull=True) | models.Q(user__isnull=True, team__isnull=False)
                ),
                name="billing_wallet_exactly_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.team_id is not None:
            return f"Team pool: {self.team}"
        return f"Personal wallet: {self.user}"

    @property
    def is_pool(self) -> bool:
        return self.team_id is not None


class Account(models.TextChoices):
    """Ledger accounts. WALLET and DEBT entries name a wallet; the others are system accounts."""

    WALLET = "wallet", "Wallet"
    DEBT = "debt", "Wallet debt"
    PURCHASES = "purchases", "Purchases (Stripe)"
    GRANTS = "grants", "Grants"
    HOLDS = "holds", "Holds"
    REVENUE = "revenue", "Revenue"
    REFUNDS = "refunds", "Refunds and disputes (Stripe)"
    ADJUSTMENTS = "adjustments", "Staff adjustments"


WALLET_ACCOUNTS = (Account.WALLET, Account.DEBT)


class TxKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase"
    GRANT = "grant", "Grant"
    ADJUSTMENT = "adjustment", "Adjustment"
    HOLD = "hold", "Hold"
    CAPTURE = "capture", "Capture"
    RELEASE = "release", "Release"
    REFUND = "refund", "Stripe refund"
    DISPUTE = "dispute", "Stripe dispute"
    DEBT_REPAYMENT = "debt_repayment", "Debt repayment"
    JOB_REFUND = "job_refund", "Job refund"


class LedgerTransaction(models.Model):
    """A group of entries that sums to zero. ``(kind, idempotency_key)`` is unique when the key is set, so one
    business event (a Checkout Session, a hold key, a refund amount) posts at most once. Append-only."""

    kind = models.CharField(max_length=20, choices=TxKind.choices)
    idempotency_key = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True, help_text="Why staff made this grant or adjustment (required for those).")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transactions")
    hold = models.ForeignKey("Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="transactions")
    purchase = models.ForeignKey(
        "Purchase", null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="billing_tx_idempotency_per_kind",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["grant", "adjustment"]) | ~models.Q(reason=""),
                name="billing_tx_staff_reason_required",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class LedgerEntry(models.Model):
    """One line of a transaction: ``amount`` credits into ``account`` (negative = out of it). Append-only: the
    database refuses UPDATE and DELETE (migration 0002 installs the triggers)."""

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.CharField(max_length=20, choices=Account.choices)
    wallet = models.ForeignKey(  # no index of its own: ``(wallet, account)`` below starts with it
        Wallet, null=True, blank=True, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["wallet", "account"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="billing_entry_non_zero"),
            models.CheckConstraint(
                condition=(
                    models.Q(account__in=["wallet", "debt"], wallet__isnull=False)
                    | (~models.Q(account__in=["wallet", "debt"]) & models.Q(wallet__isnull=True))
                ),
                name="billing_entry_wallet_iff_wallet_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+d}"


class HoldState(models.TextChoices):
    OPEN = "open", "Open"
    CAPTURED = "captured", "Captured"
    RELEASED = "released", "Released"


class Hold(models.Model):
    """Credits set aside for one job (``key`` = the job UUID, unique). Resolves once: captured (part or all charged,
    rest returned) or released (all returned). The structured columns carry what the usage reports group by."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="holds")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    # No index of its own: ``(team, user, created_at)`` below starts with it. Every hold writes each index it has.
    team = models.ForeignKey("teams.Team", null=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    key = models.CharField(max_length=100, unique=True)
    reference = models.CharField(max_length=100, blank=True, help_text="The job's UUID.")  # shown, never looked up
    description = models.CharField(max_length=300, blank=True)
    amount = models.PositiveBigIntegerField()
    state = models.CharField(max_length=10, choices=HoldState.choices, default=HoldState.OPEN)
    captured_amount = models.PositiveBigIntegerField(default=0)
    # Usage metadata (structured, for the reports): what was asked, and what the provider billed.
    project_id = models.BigIntegerField(null=True, blank=True)
    resolution = models.CharField(max_length=8, blank=True)
    audio = models.BooleanField(null=True, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    requested_seconds = models.FloatField(null=True, blank=True)
    billed_seconds = models.FloatField(null=True, blank=True)
    rate_card_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["team", "user", "created_at"]), models.Index(fields=["state", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="billing_hold_positive"),
            models.CheckConstraint(
                condition=models.Q(captured_amount__lte=models.F("amount")), name="billing_hold_capture_within_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"Hold {self.key} ({self.amount}, {self.state})"


class HoldResolution(models.Model):
    """The one resolution of a hold. One-to-one: a second capture or release is refused by the database."""

    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, related_name="outcome")
    state = models.CharField(max_length=10, choices=[c for c in HoldState.choices if c[0] != HoldState.OPEN])
    captured_amount = models.PositiveBigIntegerField(default=0)
    reason = models.CharField(max_length=300, blank=True)
    transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.hold.key}: {self.state}"


class TeamBilling(models.Model):
    """How a team pays: members' personal wallets (default) or the team pool, and the pool's monthly budget.
    Only the owner (Perm.MANAGE_BILLING) changes it. Caps and budget apply to pool spending."""

    team = models.OneToOneField("teams.Team", on_delete=models.CASCADE, related_name="billing")
    use_pool = models.BooleanField(default=False)
    monthly_budget = models.PositiveBigIntegerField(null=True, blank=True, help_text="Credits per month; empty = none")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.team}: {'pool' if self.use_pool else 'personal wallets'}"


class MemberCap(models.Model):
    """A member's monthly spending cap on the team pool, in credits."""

    membership = models.OneToOneField("teams.Membership", on_delete=models.CASCADE, related_name="billing_cap")
    monthly_cap = models.PositiveBigIntegerField()

    def __str__(self) -> str:
        return f"{self.membership}: {self.monthly_cap}/month"


class CreditPack(models.Model):
    name = models.CharField(max_length=80)
    credits = models.PositiveIntegerField()
    price_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    active = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "price_cents"]
        constraints = [models.CheckConstraint(condition=models.Q(credits__gt=0), name="billing_pack_positive")]

    def __str__(self) -> str:
        return f"{self.name}: {self.credits} credits for {self.price_cents / 100:.2f} {self.currency.upper()}"


class PurchaseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid (credits granted)"
    FAILED = "failed", "Payment failed"


class Purchase(models.Model):
    """One Checkout Session. Credited exactly once (``fulfil_checkout``); refunds and disputes claw back
    ``reversed_credits`` (cumulative, so replays and out-of-order events post only the difference)."""

    session_id = models.CharField(max_length=255, unique=True)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="purchases")
    pack = models.ForeignKey(CreditPack, null=True, on_delete=models.SET_NULL, related_name="purchases")
    credits = models.PositiveIntegerField()
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=PurchaseStatus.choices, default=PurchaseStatus.PENDING)
    payment_intent = models.CharField(max_length=255, blank=True, db_index=True)
    reversed_credits = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.session_id} ({self.status})"


class ChargeReversal(models.Model):
    """What Stripe has told us about refunds and disputes of one payment, keyed by PaymentIntent. Kept apart from
    ``Purchase`` because the events may arrive before the purchase is fulfilled; fulfilment applies them."""

    payment_intent = models.CharField(max_length=255, unique=True)
    charge_id = models.CharField(max_length=255, blank=True)
    amount_refunded_cents = models.PositiveIntegerField(default=0)
    dispute_id = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.payment_intent}: refunded {self.amount_refunded_cents}, dispute {self.dispute_id or '-'}"


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    INVALID = "invalid", "Invalid signature"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (type not handled)"
    FAILED = "failed", "Failed"


class StripeEvent(models.Model):
    """Every webhook delivery, valid or not, exactly as received (Zulip's stored Stripe events)."""

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    signature_valid = models.BooleanField(default=False)
    event_id = models.CharField(max_length=255, blank=True, db_index=True)
    event_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=EventStatus.choices, default=EventStatus.RECEIVED)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event_type or '?'} {self.event_id or '?'} ({self.status})"


class MonthlySpend(models.Model):
    """Credits committed from a wallet in one calendar month (UTC): open holds in full, captured holds by what was
    captured, released holds not at all — what ``wallets.pool_spent_this_month`` sums from the holds, kept as a
    counter so a hold checks the month's caps in O(1) while the wallet row is locked.

    Kept for team-pool wallets (``Wallet.team`` set), the only spending caps and budgets apply to. One row per (wallet,
    month) with ``user`` empty (the wallet's total, the team budget) and one per (wallet, month, member) (the member
    cap). Written only by ``billing.ledger``, in the same transaction as the ledger entry that
    moves it; a hold counts in the month it was placed, also when it resolves next month. ``reconcile_ledger``
    checks every counter against the holds.
    """

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="monthly_spend")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField(help_text="The first day of the month.")
    spent = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "month", "user"],
                condition=models.Q(user__isnull=False),
                name="billing_spend_member_unique",
            ),
            models.UniqueConstraint(
                fields=["wallet", "month"], condition=models.Q(user__isnull=True), name="billing_spend_wallet_unique"
            ),
            models.CheckConstraint(condition=models.Q(spent__gte=0), name="billing_spend_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.wallet_id} {self.month:%Y-%m} {self.user_id or 'all'}: {self.spent}"
