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

import copy
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model
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
from billing.spending import SPENDABLE_SQL, spending_refusal
from billing.wallets import CapStatus, PoolLimits, month_spent, month_start, pool_limits

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
    lines = _balanced_lines(kind, lines)
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


def _balanced_lines(kind: str, lines: Iterable[Line]) -> list[Line]:
    """``lines`` without zero amounts; an ``AssertionError`` unless they sum to zero."""
    lines = [line for line in lines if line[2] != 0]
    if sum(amount for _, _, amount in lines) != 0:
        raise AssertionError(f"Unbalanced ledger transaction {kind}: {lines!r}")
    return lines


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

    Atomic with the balance: the one spending check (``billing.spending``: frozen, debt, the member's monthly cap and
    the team's budget from the O(1) month counters, the balance) judges the wallet's row while it is locked, and the
    balance moves by a conditional update; the month counters move in the same transaction. Raises
    ``WalletFrozen``, ``OutstandingDebt``, ``CapExceeded`` or ``InsufficientCredits``. The same key again with the
    same wallet and amount returns the existing hold (a retried pipeline step); with anything else it raises
    ``DuplicateHold``.

    All holds on one wallet queue for its lock, so how long a hold keeps it bounds the wallet's holds per second.
    What needs no lock is done before taking it: the key (the hold's row is inserted, or found: a retry), the hold's
    ledger transaction, the cap and budget settings. Then, on PostgreSQL, one statement takes the lock: the
    conditional update (``spending.SPENDABLE_SQL``) moves the balance and the month counters and returns the row as
    it was and the counters as they were, and the check judges those; only the commit follows. When that statement
    moves nothing (a refusal, or a database without it), the hold locks the row, judges it and, if the check allows
    the hold after all (the row changed in between), writes it. Rows written before a refusal roll back with it."""
    if amount <= 0:
        raise ValueError("A hold must be a positive number of credits.")
    if not key:
        raise ValueError("A hold needs a key (the job's UUID).")
    columns = _meta_columns(reference_meta, _META_FIELDS)
    columns.setdefault("reference", key)
    # ``created_at`` is when the hold was asked for, before the lock: the cap check reads the counters of its month.
    new_hold = Hold(
        wallet=wallet,
        user=user,
        team=team,
        key=key,
        amount=amount,
        description=description[:300],
        created_at=timezone.now(),
        **columns,
    )
    prepare = _HOLD_WRITERS.get(connection.vendor, _prepare_hold_portable)
    writes = prepare(new_hold, description=description or f"Hold for {key}")
    if not writes.place():
        return _same_hold(Hold.objects.get(key=key), wallet_id=wallet.pk, amount=amount)  # a retry
    limits = pool_limits(wallet=wallet, user=user, team=team)

    taken = writes.take()
    if taken is not None:
        locked, caps = taken.wallet, taken.caps(limits)
    else:
        locked = _lock_wallet(wallet)
        caps = _caps_under_lock(limits, wallet=locked, user=user, now=new_hold.created_at)
    refusal = spending_refusal(wallet=locked, amount=amount, caps=caps)
    if refusal is not None:
        raise refusal  # rolls back the conditional update and the counters too, if ``take`` moved them
    if taken is None and not writes.complete(locked):
        # A concurrent call with the same key got in first (it committed while this one waited): nothing was written.
        return _same_hold(Hold.objects.get(key=key), wallet_id=wallet.pk, amount=amount)
    notices.after_hold(wallet=locked, balance_before=locked.balance, amount=amount, user=user, team=team, caps=caps)
    # The caller's wallet shows the new state without reading the row again: the lock made these values current.
    wallet.balance = locked.balance - amount
    wallet.debt, wallet.frozen, wallet.frozen_reason = locked.debt, locked.frozen, locked.frozen_reason
    return new_hold


def _same_hold(existing: Hold, *, wallet_id: int, amount: int) -> Hold:
    """A retried hold: the existing one if it is the same (wallet, amount), else ``DuplicateHold``."""
    if existing.wallet_id == wallet_id and existing.amount == amount:
        return existing
    raise DuplicateHold(f"Job {existing.key} already has a hold of {existing.amount} credits.")


def _lock_wallet(wallet: Wallet) -> Wallet:
    """Lock ``wallet``'s row until the transaction ends and return a copy of ``wallet`` with the row's current
    balance, debt and freeze (``_wallet_as``). Plain SQL: building the ORM query would take longer than running it.

    PostgreSQL's lock is ``FOR NO KEY UPDATE``: every other writer of the row takes at least that (``FOR UPDATE``,
    an ``UPDATE``), so holds still wait for each other and for them, but not for the foreign-key checks (``KEY
    SHARE``) of rows that reference the wallet, such as a hold's own rows, inserted before the lock. SQLite has no
    row locks: its IMMEDIATE transactions already hold the database's write lock."""
    features = connection.features
    lock = " FOR NO KEY UPDATE" if features.has_select_for_no_key_update else ""
    lock = lock or (" FOR UPDATE" if features.has_select_for_update else "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT balance, debt, frozen, frozen_reason FROM {_table(Wallet)} WHERE id = %s{lock}",  # noqa: S608
            [wallet.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise Wallet.DoesNotExist(f"Wallet {wallet.pk} does not exist.")
    return _wallet_as(wallet, balance=row[0], debt=row[1], frozen=row[2], frozen_reason=row[3])


def _wallet_as(wallet: Wallet, *, balance: int, debt: int, frozen: bool, frozen_reason: str) -> Wallet:
    """A copy of ``wallet`` with these values of its row (as read under its lock). A copy, because the caller's
    object may be shared (threads); it gets the new values once the hold is written."""
    row = copy.copy(wallet)
    row.balance, row.debt, row.frozen, row.frozen_reason = int(balance), int(debt), bool(frozen), frozen_reason
    return row


def _caps_under_lock(limits: PoolLimits | None, *, wallet: Wallet, user: User, now: datetime) -> CapStatus | None:
    """The pool limits against the month's counters. Must run under the wallet's lock: every writer of the counters
    holds it, so the values read here stay true until the hold commits."""
    if limits is None:
        return None
    if not limits.needs_counters:
        return limits.status(team_spent=0, member_spent=0)
    team_spent, member_spent = month_spent(wallet=wallet, user=user, now=now)
    return limits.status(team_spent=team_spent, member_spent=member_spent)


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _hold_lines(hold: Hold, *, wallet: Wallet) -> list[Line]:
    """A hold's transaction: the amount moves out of the wallet into the holds account."""
    return [(Account.WALLET, wallet, -hold.amount), (Account.HOLDS, None, hold.amount)]


@dataclass(frozen=True)
class _Taken:
    """What a hold's conditional update returned: the wallet's row as it was just before it (locked from then until
    the commit) and the month counters as they were (None for a wallet without them: a personal one)."""

    wallet: Wallet
    team_spent: int | None = None
    member_spent: int | None = None

    def caps(self, limits: PoolLimits | None) -> CapStatus | None:
        if limits is None:
            return None
        return limits.status(team_spent=self.team_spent or 0, member_spent=self.member_spent or 0)


@dataclass(frozen=True)
class _HoldWrites:
    """How a hold is written, in steps around the wallet's lock. ``place()``, before the lock, claims the key: False
    (nothing written) if a hold with it exists, a retry. ``take()`` locks the row and moves the balance and the month
    counters by the conditional update in one step where the database allows it, returning what they were (``_Taken``),
    or None when it moved nothing (a refusal, or not supported). ``complete(locked_wallet)``, under the lock after the
    check, when ``take`` moved nothing: moves the balance by the conditional update and the month counters, and has
    the hold and its balanced ledger transaction written by then; False (nothing written) if the key was taken
    meanwhile. Two ways, the same rows: the ORM (any database), and PostgreSQL's data-modifying CTEs. The test suite
    runs both on PostgreSQL."""

    place: Callable[[], bool]
    take: Callable[[], _Taken | None]
    complete: Callable[[Wallet], bool]


def _prepare_hold_portable(new_hold: Hold, *, description: str) -> _HoldWrites:
    """The ORM, one statement per row, all of them under the lock."""

    def place() -> bool:
        return not Hold.objects.filter(key=new_hold.key).exists()

    def complete(wallet: Wallet) -> bool:
        if Hold.objects.filter(key=new_hold.key).exists():
            return False
        new_hold.save(force_insert=True)
        _post(
            kind=TxKind.HOLD,
            wallet=wallet,
            lines=_hold_lines(new_hold, wallet=wallet),
            key=new_hold.key,
            description=description,
            hold=new_hold,
            created_by=new_hold.user,
        )
        _count_spend(hold=new_hold, wallet=wallet, delta=new_hold.amount)
        return True

    return _HoldWrites(place=place, take=lambda: None, complete=complete)


def _prepare_hold_postgresql(new_hold: Hold, *, description: str) -> _HoldWrites:
    """Two statements of data-modifying CTEs, each step selecting from the rows the step before returned, so that
    an empty step writes nothing after it. ``place`` inserts the hold (``ON CONFLICT (key) DO NOTHING``: the key is
    taken, nothing is written) and its transaction's balanced entries, before the lock: nothing needs it, and a
    refused hold's rows roll back with the refusal. ``take`` is the conditional update, which takes the row lock,
    with the rules that read only the wallet's row (``SPENDABLE_SQL``), and the counters' upserts (the first hold of
    a month creates them) on their partial unique indexes ``billing_spend_wallet_unique`` and
    ``billing_spend_member_unique``, which return the counters' new values. ``complete``, after a refusal the check
    overruled, runs it again under the lock."""
    wallet = new_hold.wallet
    lines = _balanced_lines(TxKind.HOLD, _hold_lines(new_hold, wallet=wallet))
    now = new_hold.created_at
    # The transaction and its entries as column values: cheaper than model instances, and nothing reads them back.
    tx = {
        "kind": TxKind.HOLD,
        "idempotency_key": new_hold.key,
        "description": description[:300],
        "wallet_id": wallet.pk,
        "created_by_id": new_hold.user_id,
        "created_at": now,
    }
    entries = [
        {"account": account, "wallet_id": w.pk if w is not None else None, "amount": amount, "created_at": now}
        for account, w, amount in lines
    ]
    spends = _spend_rows(new_hold, wallet=wallet)

    # The statements' text depends only on which counters move; after the first hold of each kind only their
    # parameters are computed.
    place_sql = _HOLD_SQL.get(("place",))
    placing = _CteStatement(with_sql=place_sql is None)
    placing.insert("new_hold", Hold, [new_hold], suffix="ON CONFLICT (key) DO NOTHING RETURNING id")
    placing.insert("tx", LedgerTransaction, [tx], source="new_hold", suffix="RETURNING id", hold_id="new_hold.id")
    placing.insert("entries", LedgerEntry, entries, source="tx", transaction_id="tx.id")
    if place_sql is None:
        place_sql = _HOLD_SQL[("place",)] = placing.sql("SELECT (SELECT id FROM new_hold)")

    shape = ("take", *(spend.user_id is not None for spend in spends))
    take_sql = _HOLD_SQL.get(shape)
    taking = _CteStatement(with_sql=take_sql is None)
    debit = -sum(amount for account, _, amount in lines if account == Account.WALLET)
    taking.add(
        f"debit AS (UPDATE {_table(Wallet)} SET balance = balance - %s "  # noqa: S608 (a table name)
        f"WHERE id = %s AND {SPENDABLE_SQL} RETURNING balance, debt, frozen, frozen_reason)",
        [debit, wallet.pk, debit],
    )
    for i, spend in enumerate(spends):
        target = "(wallet_id, month) WHERE user_id IS NULL"
        if spend.user_id is not None:
            target = "(wallet_id, month, user_id) WHERE user_id IS NOT NULL"
        counters = _table(MonthlySpend)
        taking.insert(
            f"spend{i}",
            MonthlySpend,
            [spend],
            source="debit",
            suffix=f"ON CONFLICT {target} DO UPDATE SET spent = {counters}.spent + EXCLUDED.spent RETURNING spent",
        )
    if take_sql is None:
        spent = "".join(f", (SELECT spent FROM spend{i})" for i in range(len(spends)))  # noqa: S608 (step names)
        take_sql = _HOLD_SQL[shape] = taking.sql(f"SELECT balance, debt, frozen, frozen_reason{spent} FROM debit")  # noqa: S608

    def place() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(place_sql, placing.params)
            (hold_id,) = cursor.fetchone()
        if hold_id is None:
            return False
        new_hold.pk = hold_id
        new_hold._state.adding, new_hold._state.db = False, connection.alias
        return True

    def take() -> _Taken | None:
        with connection.cursor() as cursor:
            cursor.execute(take_sql, taking.params)
            row = cursor.fetchone()
        if row is None:
            return None
        balance, debt, frozen, frozen_reason, *after = row
        before = _wallet_as(wallet, balance=balance + debit, debt=debt, frozen=frozen, frozen_reason=frozen_reason)
        # The counters as they were: the upserts returned them with this hold's amount added.
        spent = {spend.user_id: value - spend.spent for spend, value in zip(spends, after, strict=True)}
        return _Taken(wallet=before, team_spent=spent.get(None), member_spent=spent.get(new_hold.user_id))

    def complete(locked: Wallet) -> bool:
        if take() is None:  # the conditional update refused: the check makes this unreachable, but for a bug
            raise InsufficientCredits(need=new_hold.amount, have=locked.balance)
        return True

    return _HoldWrites(place=place, take=take, complete=complete)


_HOLD_WRITERS: dict[str, Callable[..., _HoldWrites]] = {"postgresql": _prepare_hold_postgresql}  # by vendor
_HOLD_SQL: dict[tuple[Any, ...], str] = {}  # _prepare_hold_postgresql's statements: ("place",), ("take", …)


class _CteStatement:
    """``WITH name AS (…), … SELECT …``, built step by step. Only model metadata (table and column names) and the
    fixed SQL above are formatted into it; every value is a parameter. ``with_sql=False`` collects only the
    parameters (in the same order), for a statement whose text is already known."""

    def __init__(self, *, with_sql: bool = True) -> None:
        self.with_sql = with_sql
        self.steps: list[str] = []
        self.params: list[Any] = []
        self.db = transaction.get_connection()  # the connection itself, not the per-thread proxy: looked up once

    def add(self, step: str, params: list[Any]) -> None:
        self.steps.append(step)
        self.params.extend(params)

    def insert(
        self,
        name: str,
        model: type[Model],
        objs: Sequence[Model | dict[str, Any]],
        *,
        source: str = "",
        suffix: str = "",
        **expressions: str,
    ) -> None:
        """Step ``name``: INSERT ``objs`` into ``model``'s table as Django would (the fields' defaults and database
        conversions; the auto primary key left to the database). Each is an unsaved instance, or a dict of attname →
        value (the field's default for the rest). Without ``source`` as VALUES; with it, each one SELECTed ``FROM
        source`` (the rows an earlier step returned: none, nothing inserted). ``expressions`` (attname → SQL) give
        columns that come from those rows, e.g. ``hold_id="new_hold.id"``."""
        quote = self.db.ops.quote_name
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        rows = []
        for obj in objs:
            values = []
            for field in fields:
                if field.attname in expressions:
                    values.append(expressions[field.attname])
                    continue
                if isinstance(obj, dict):
                    value = obj[field.attname] if field.attname in obj else field.get_default()
                else:
                    value = getattr(obj, field.attname)
                values.append("%s")
                self.params.append(field.get_db_prep_save(value, self.db))
            values_sql = ", ".join(values)
            rows.append(f"SELECT {values_sql} FROM {source}" if source else f"VALUES ({values_sql})")  # noqa: S608
        if not self.with_sql:
            return
        table, names = quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields)
        self.steps.append(f"{name} AS (INSERT INTO {table} ({names}) {' UNION ALL '.join(rows)} {suffix})")

    def sql(self, select: str) -> str:
        return "WITH " + ", ".join(self.steps) + " " + select


def _spend_rows(hold: Hold, *, wallet: Wallet) -> list[MonthlySpend]:
    """The month counters ``hold`` moves, unsaved with ``spent`` = its amount: the wallet's and its member's, in the
    month the hold was placed. None for a personal wallet: caps and budgets apply to team-pool spending only."""
    if wallet.team_id is None:
        return []
    month = month_start(hold.created_at).date()
    users = (None, hold.user_id) if hold.user_id is not None else (None,)
    return [
        MonthlySpend(wallet_id=hold.wallet_id, month=month, user_id=user_id, spent=hold.amount) for user_id in users
    ]


def _count_spend(*, hold: Hold, wallet: Wallet, delta: int) -> None:
    """Move the month counters of ``hold`` (``_spend_rows``) by ``delta``, in the caller's transaction: + the amount
    when held, − what was not charged when resolved."""
    if delta == 0:
        return
    for counter in _spend_rows(hold, wallet=wallet):
        rows = MonthlySpend.objects.filter(wallet_id=counter.wallet_id, month=counter.month)
        rows = rows.filter(user__isnull=True) if counter.user_id is None else rows.filter(user_id=counter.user_id)
        if rows.update(spent=F("spent") + delta) == 1:
            continue
        # First hold of the month: create the row. Concurrent first holds of one wallet cannot race (its row is
        # locked by ``hold``); a resolution finds the row its hold created.
        try:
            with transaction.atomic():
                MonthlySpend.objects.create(
                    wallet_id=counter.wallet_id, month=counter.month, user_id=counter.user_id, spent=delta
                )
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
