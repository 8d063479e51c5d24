"""THE ledger writer. No other module creates ledger rows or changes a wallet's ``balance``/``debt``/``frozen``.

Invariants (stated once, kept by ``_post`` and backed by the database):

- Every transaction's entries sum to zero. Signs: an entry's amount flows *into* its account; a wallet's balance is
  the sum of its ``wallet`` entries; its debt is minus the sum of its ``debt`` entries.
- ``Wallet.balance`` changes only here, by a conditional ``UPDATE … SET balance = balance + d WHERE … AND
  balance >= -d`` in the same database transaction as the entries, so the cached balance equals the entries and never
  goes below zero (the ``CHECK balance >= 0`` is the backstop).
- ``(kind, idempotency_key)`` is unique: a Checkout Session, a hold key, a refund level posts once.
- A hold resolves once: ``Hold.state`` moves from ``open`` by compare-and-set, and ``HoldResolution`` (one-to-one
  with the hold) makes a second capture/release an ``IntegrityError`` even for code that bypasses this module.

Refunds and disputes (``stripe_reversal``) take back what the wallet still has and record the rest as *debt* (a
``debt`` account entry, ``Wallet.debt``), never pushing the balance below zero or rewriting history. A wallet with
debt cannot place holds; any later credit pays the debt off first. A dispute also freezes the wallet until staff
unfreeze it (``wallet_unfreeze``), because a disputed payment may be fraud.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing import notices
from billing.errors import DuplicateHold, HoldAlreadyResolved, InsufficientCredits
from billing.models import (
    Account,
    Hold,
    HoldResolution,
    HoldState,
    LedgerEntry,
    LedgerTransaction,
    MonthlySpend,
    Purchase,
    TxKind,
    Wallet,
)
from billing.spending import spending_refusal
from billing.wallets import cap_status, month_start

if TYPE_CHECKING:
    from django.http import HttpRequest

    from studio.accounts.models import User
    from studio.teams.models import Team

logger = logging.getLogger(__name__)

Line = tuple[str, Wallet | None, int]  # (account, wallet for wallet/debt accounts, amount)


def _post(
    *,
    kind: str,
    wallet: Wallet,
    lines: Iterable[Line],
    key: str = "",
    description: str = "",
    reason: str = "",
    hold: Hold | None = None,
    purchase: Purchase | None = None,
    created_by: User | None = None,
) -> LedgerTransaction:
    """Write one balanced transaction and move the cached wallet balances/debts with it. Must run inside an atomic
    block (every public function here is ``@transaction.atomic``). Raises ``InsufficientCredits`` (and writes
    nothing that survives the caller's rollback) if a wallet would go below zero."""
    lines = [line for line in lines if line[2] != 0]
    if sum(amount for _, _, amount in lines) != 0:
        raise AssertionError(f"Unbalanced ledger transaction {kind}: {lines!r}")
    balance_deltas: dict[int, int] = defaultdict(int)
    debt_deltas: dict[int, int] = defaultdict(int)
    for account, line_wallet, amount in lines:
        if (account in (Account.WALLET, Account.DEBT)) != (line_wallet is not None):
            raise AssertionError(f"Account {account} {'needs' if line_wallet is None else 'takes no'} wallet")
        if account == Account.WALLET and line_wallet is not None:
            balance_deltas[line_wallet.pk] += amount
        elif account == Account.DEBT and line_wallet is not None:
            debt_deltas[line_wallet.pk] -= amount  # a negative debt entry is money owed
    for wallet_id, delta in sorted(balance_deltas.items()):
        if delta == 0:
            continue
        changed = Wallet.objects.filter(pk=wallet_id, balance__gte=-min(delta, 0)).update(balance=F("balance") + delta)
        if changed != 1:
            have = Wallet.objects.filter(pk=wallet_id).values_list("balance", flat=True).first() or 0
            raise InsufficientCredits(need=-delta, have=have)
    for wallet_id, delta in sorted(debt_deltas.items()):
        if delta == 0:
            continue
        changed = Wallet.objects.filter(pk=wallet_id, debt__gte=-min(delta, 0)).update(debt=F("debt") + delta)
        if changed != 1:
            raise AssertionError(f"Debt of wallet {wallet_id} would go negative")
    tx = LedgerTransaction.objects.create(
        kind=kind,
        idempotency_key=key,
        description=description[:300],
        reason=reason,
        wallet=wallet,
        hold=hold,
        purchase=purchase,
        created_by=created_by,
    )
    now = tx.created_at
    LedgerEntry.objects.bulk_create(
        LedgerEntry(transaction=tx, account=account, wallet=line_wallet, amount=amount, created_at=now)
        for account, line_wallet, amount in lines
    )
    if kind != TxKind.DEBT_REPAYMENT and balance_deltas.get(wallet.pk, 0) > 0:
        _repay_debt(wallet_id=wallet.pk, after=tx)
    return tx


def _repay_debt(*, wallet_id: int, after: LedgerTransaction) -> None:
    """Credit that reaches a wallet with debt pays the debt off first (as far as it goes)."""
    locked = Wallet.objects.select_for_update().get(pk=wallet_id)
    repay = min(locked.debt, locked.balance)
    if repay > 0:
        _post(
            kind=TxKind.DEBT_REPAYMENT,
            wallet=locked,
            lines=[(Account.WALLET, locked, -repay), (Account.DEBT, locked, repay)],
            key=f"after-tx-{after.pk}",
            description=f"Paid off {repay} credits of debt",
        )


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValueError("A reason is required.")
    return reason


def _refresh(obj: Wallet | Hold) -> None:
    obj.refresh_from_db()


def _audit(
    action: str,
    *,
    wallet: Wallet,
    actor: User | None,
    reason: str = "",
    team: Team | None = None,
    request: HttpRequest | None = None,
    **data: Any,
) -> None:
    """The money actions the audit log records (grants, refunds, freezes), in the ledger's own transaction.
    ``request`` (when a page did it) gives the row its client IP; ``team`` defaults to the wallet's team."""
    from studio.audit.models import AuditAction
    from studio.audit.services import audit_record

    audit_record(
        action=AuditAction(action),
        actor=actor,
        team=team or wallet.team,
        target=wallet,
        reason=reason,
        request=request,
        data={"wallet": wallet.pk, **data},
    )


# --- Credits in: grants, staff adjustments, purchases --------------------------------------------------------------


@transaction.atomic
def grant(
    *,
    wallet: Wallet,
    amount: int,
    reason: str,
    created_by: User | None,
    key: str = "",
    request: HttpRequest | None = None,
) -> LedgerTransaction:
    """Give ``amount`` (> 0) free credits to ``wallet`` (staff grants, demo credits). ``key`` makes it idempotent."""
    if amount <= 0:
        raise ValueError("A grant must be a positive number of credits.")
    reason = _require_reason(reason)
    if key and (done := LedgerTransaction.objects.filter(kind=TxKind.GRANT, idempotency_key=key).first()):
        return done
    tx = _post(
        kind=TxKind.GRANT,
        wallet=wallet,
        lines=[(Account.WALLET, wallet, amount), (Account.GRANTS, None, -amount)],
        key=key,
        description=f"Granted {amount} credits",
        reason=reason,
        created_by=created_by,
    )
    _audit(
        "money.credit_grant",
        wallet=wallet,
        actor=created_by,
        reason=reason,
        request=request,
        credits=amount,
        transaction=tx.pk,
    )
    _refresh(wallet)
    return tx


@transaction.atomic
def adjust(*, wallet: Wallet, amount: int, reason: str, created_by: User | None) -> LedgerTransaction:
    """A staff correction: ``amount`` credits in (> 0) or out (< 0) of ``wallet``, with a required reason. Taking
    out more than the balance raises ``InsufficientCredits``."""
    if amount == 0:
        raise ValueError("An adjustment must change the balance.")
    reason = _require_reason(reason)
    Wallet.objects.select_for_update().get(pk=wallet.pk)
    tx = _post(
        kind=TxKind.ADJUSTMENT,
        wallet=wallet,
        lines=[(Account.WALLET, wallet, amount), (Account.ADJUSTMENTS, None, -amount)],
        description=f"Adjusted by {amount:+d} credits",
        reason=reason,
        created_by=created_by,
    )
    _refresh(wallet)
    return tx


@transaction.atomic
def purchase_credit(*, purchase: Purchase) -> LedgerTransaction:
    """Credit a paid purchase (called by ``billing.purchases.fulfil_checkout`` only). Idempotent on the session id."""
    done = LedgerTransaction.objects.filter(kind=TxKind.PURCHASE, idempotency_key=purchase.session_id).first()
    if done is not None:
        return done
    return _post(
        kind=TxKind.PURCHASE,
        wallet=purchase.wallet,
        lines=[(Account.WALLET, purchase.wallet, purchase.credits), (Account.PURCHASES, None, -purchase.credits)],
        key=purchase.session_id,
        description=f"Bought {purchase.credits} credits",
        purchase=purchase,
    )


@transaction.atomic
def stripe_reversal(*, purchase: Purchase, credits: int, kind: str, key: str, description: str) -> LedgerTransaction:
    """Take ``credits`` back for a refund or dispute of ``purchase``: what the wallet holds now comes out of its
    balance, the rest is recorded as debt. History is never rewritten; the balance never goes below zero."""
    if kind not in (TxKind.REFUND, TxKind.DISPUTE) or credits <= 0:
        raise ValueError("A reversal is a refund or dispute of a positive number of credits.")
    done = LedgerTransaction.objects.filter(kind=kind, idempotency_key=key).first()
    if done is not None:
        return done
    wallet = Wallet.objects.select_for_update().get(pk=purchase.wallet_id)
    taken = min(credits, wallet.balance)
    owed = credits - taken
    tx = _post(
        kind=kind,
        wallet=wallet,
        lines=[(Account.WALLET, wallet, -taken), (Account.DEBT, wallet, -owed), (Account.REFUNDS, None, credits)],
        key=key,
        description=description + (f" ({owed} credits owed)" if owed else ""),
        purchase=purchase,
    )
    _audit("money.refund", wallet=wallet, actor=None, reason=description, credits=credits, kind=kind)
    if kind == TxKind.DISPUTE:
        _set_frozen(wallet=wallet, frozen=True, reason="A payment was disputed")
        _audit("money.wallet_frozen", wallet=wallet, actor=None, reason="A payment was disputed")
    return tx


def _set_frozen(*, wallet: Wallet, frozen: bool, reason: str) -> None:
    Wallet.objects.filter(pk=wallet.pk).update(frozen=frozen, frozen_reason=reason if frozen else "")
    _refresh(wallet)


@transaction.atomic
def wallet_freeze(*, wallet: Wallet, reason: str, by: User | None = None, request: HttpRequest | None = None) -> None:
    _set_frozen(wallet=wallet, frozen=True, reason=_require_reason(reason))
    _audit("money.wallet_frozen", wallet=wallet, actor=by, reason=reason, request=request)


@transaction.atomic
def wallet_unfreeze(*, wallet: Wallet, reason: str, by: User, request: HttpRequest | None = None) -> None:
    """Staff lift a freeze. Debt still blocks holds until it is paid off."""
    _require_reason(reason)
    logger.info("Wallet %s unfrozen by %s: %s", wallet.pk, by, reason)
    _set_frozen(wallet=wallet, frozen=False, reason="")
    _audit("money.wallet_unfrozen", wallet=wallet, actor=by, reason=reason, request=request)


# --- Holds -------------------------------------------------------------------------------------------------------


_META_FIELDS = {
    "project_id": "project_id",
    "resolution": "resolution",
    "audio": "audio",
    "provider": "provider",
    "seconds": "requested_seconds",
    "rate_card_version": "rate_card_version",
    "reference": "reference",
}


def _meta_columns(meta: Mapping[str, Any] | None, fields: Mapping[str, str]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name, value in (meta or {}).items():
        if name not in fields:
            raise ValueError(f"Unknown usage field {name!r}; expected one of {sorted(fields)}.")
        if value is not None:
            columns[fields[name]] = value
    return columns


@transaction.atomic
def hold(
    *,
    wallet: Wallet,
    amount: int,
    key: str,
    user: User,
    team: Team | None,
    description: str = "",
    reference_meta: dict[str, Any] | None = None,
) -> Hold:
    """Set ``amount`` credits aside from ``wallet`` for one job (``key`` = the job UUID).

    Atomic with the balance: the wallet row is locked (``SELECT … FOR UPDATE``) while the one spending check
    (``billing.spending``: frozen, debt, the member's monthly cap and the team's budget from the O(1) month
    counters, the balance) runs, and the balance moves by a conditional update; the month counters move in the same
    transaction. Raises ``WalletFrozen``, ``OutstandingDebt``, ``CapExceeded`` or ``InsufficientCredits``. The same
    key again with the same wallet and amount returns the
    existing hold (a retried pipeline step); with anything else it raises ``DuplicateHold``."""
    if amount <= 0:
        raise ValueError("A hold must be a positive number of credits.")
    if not key:
        raise ValueError("A hold needs a key (the job's UUID).")
    locked = Wallet.objects.select_for_update().get(pk=wallet.pk)
    existing = Hold.objects.filter(key=key).first()
    if existing is not None:
        if existing.wallet_id == locked.pk and existing.amount == amount:
            return existing
        raise DuplicateHold(f"Job {key} already has a hold of {existing.amount} credits.")
    caps = cap_status(wallet=locked, user=user, team=team)
    refusal = spending_refusal(wallet=locked, amount=amount, caps=caps)
    if refusal is not None:
        raise refusal
    columns = _meta_columns(reference_meta, _META_FIELDS)
    columns.setdefault("reference", key)
    new_hold = Hold.objects.create(
        wallet=locked, user=user, team=team, key=key, amount=amount, description=description[:300], **columns
    )
    _post(
        kind=TxKind.HOLD,
        wallet=locked,
        lines=[(Account.WALLET, locked, -amount), (Account.HOLDS, None, amount)],
        key=key,
        description=description or f"Hold for {key}",
        hold=new_hold,
        created_by=user,
    )
    _count_spend(hold=new_hold, wallet=locked, delta=amount)
    notices.after_hold(wallet=locked, balance_before=locked.balance, amount=amount, user=user, team=team, caps=caps)
    _refresh(wallet)
    return new_hold


def _count_spend(*, hold: Hold, wallet: Wallet, delta: int) -> None:
    """Move the month counters of ``hold`` (the wallet's and its member's, in the month the hold was placed) by
    ``delta``, in the caller's transaction: + the amount when held, − what was not charged when resolved."""
    if delta == 0 or wallet.team_id is None:
        return  # caps and budgets apply to team-pool spending only: a personal wallet's holds need no counter
    month = month_start(hold.created_at).date()
    for user_id in (None, hold.user_id) if hold.user_id is not None else (None,):
        rows = MonthlySpend.objects.filter(wallet_id=hold.wallet_id, month=month)
        rows = rows.filter(user__isnull=True) if user_id is None else rows.filter(user_id=user_id)
        if rows.update(spent=F("spent") + delta) == 1:
            continue
        # First hold of the month: create the row. Concurrent first holds of one wallet cannot race (its row is
        # locked by ``hold``); a resolution finds the row its hold created.
        try:
            with transaction.atomic():
                MonthlySpend.objects.create(wallet_id=hold.wallet_id, month=month, user_id=user_id, spent=delta)
        except IntegrityError:
            rows.update(spent=F("spent") + delta)


_USAGE_FIELDS = {"seconds": "billed_seconds", "provider": "provider", "resolution": "resolution", "audio": "audio"}


def _resolve(*, hold: Hold, state: str, charged: int, reason: str, usage: dict[str, Any] | None) -> None:
    locked = Hold.objects.select_for_update().get(pk=hold.pk)
    if locked.state != HoldState.OPEN:
        raise HoldAlreadyResolved(locked.key, locked.state)
    if not 0 <= charged <= locked.amount:
        raise ValueError(f"Cannot capture {charged} credits of a {locked.amount}-credit hold.")
    now = timezone.now()
    columns = _meta_columns(usage, _USAGE_FIELDS)
    changed = Hold.objects.filter(pk=locked.pk, state=HoldState.OPEN).update(
        state=state, captured_amount=charged, resolved_at=now, **columns
    )
    if changed != 1:
        raise HoldAlreadyResolved(locked.key, "resolved")
    wallet = locked.wallet
    verb = "Charged" if state == HoldState.CAPTURED else "Released"
    tx = _post(
        kind=TxKind.CAPTURE if state == HoldState.CAPTURED else TxKind.RELEASE,
        wallet=wallet,
        lines=[
            (Account.HOLDS, None, -locked.amount),
            (Account.REVENUE, None, charged),
            (Account.WALLET, wallet, locked.amount - charged),
        ],
        key=locked.key,
        description=f"{verb} {charged if charged else locked.amount} credits for {locked.reference or locked.key}"
        + (f": {reason}" if reason else ""),
        hold=locked,
    )
    HoldResolution.objects.create(
        hold=locked, state=state, captured_amount=charged, reason=reason[:300], transaction=tx
    )
    _count_spend(hold=locked, wallet=wallet, delta=charged - locked.amount)
    hold.refresh_from_db()


@transaction.atomic
def capture(*, hold: Hold, amount: int, usage: dict[str, Any] | None = None) -> None:
    """Charge ``amount`` (0 ≤ amount ≤ hold.amount) of an open hold to revenue and return the rest to the wallet.
    ``usage`` records what the provider billed (``seconds``, ``provider``, …) for the reports. A hold resolves once:
    a second capture or release raises ``HoldAlreadyResolved``."""
    _resolve(hold=hold, state=HoldState.CAPTURED, charged=amount, reason="", usage=usage)


@transaction.atomic
def release(*, hold: Hold, reason: str) -> None:
    """Return the whole of an open hold to the wallet (failure, moderation, expiry, cancel before submit)."""
    _resolve(hold=hold, state=HoldState.RELEASED, charged=0, reason=reason, usage=None)


# --- Refunds of charged jobs (moderation takedowns and overturns, staff refunds) ---------------------------------


def job_refund_key(hold: Hold) -> str:
    """The one idempotency key of a job's refund: whoever refunds it (a takedown, an overturn, staff), it posts once."""
    return f"job-refund:{hold.key}"


@transaction.atomic
def job_refund(
    *, hold: Hold, reason: str, created_by: User | None, request: HttpRequest | None = None
) -> LedgerTransaction | None:
    """Give back what a captured hold charged (revenue → the wallet that paid). Exactly once per hold: a second call
    returns the first transaction. ``None`` when nothing was charged (an open or released hold, or a 0 capture)."""
    reason = _require_reason(reason)
    done = LedgerTransaction.objects.filter(kind=TxKind.JOB_REFUND, idempotency_key=job_refund_key(hold)).first()
    if done is not None:
        return done
    locked = Hold.objects.select_for_update().get(pk=hold.pk)
    if locked.state != HoldState.CAPTURED or locked.captured_amount <= 0:
        return None
    wallet = Wallet.objects.select_for_update().get(pk=locked.wallet_id)
    amount = int(locked.captured_amount)
    tx = _post(
        kind=TxKind.JOB_REFUND,
        wallet=wallet,
        lines=[(Account.REVENUE, None, -amount), (Account.WALLET, wallet, amount)],
        key=job_refund_key(locked),
        description=f"Refunded {amount} credits for {locked.reference or locked.key}",
        reason=reason,
        hold=locked,
        created_by=created_by,
    )
    _audit(
        "money.refund",
        wallet=wallet,
        actor=created_by,
        reason=reason,
        team=locked.team,
        request=request,
        credits=amount,
        job=locked.key,
    )
    return tx


def job_refunded_amount(hold: Hold) -> int:
    """Credits given back for this hold by ``job_refund`` (0 when it was never refunded)."""
    done = LedgerTransaction.objects.filter(kind=TxKind.JOB_REFUND, idempotency_key=job_refund_key(hold)).first()
    if done is None:
        return 0
    return int(sum(e.amount for e in done.entries.all() if e.account == Account.WALLET))
