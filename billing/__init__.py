"""Billing: the rate card, metering, wallets, the append-only ledger, Stripe.

The interface the generation pipeline calls (names are fixed; see billing/README.md for the full story)::

    from billing.metering import price_credits
    price_credits(*, seconds: float, resolution: str, audio: bool, rate_card: RateCard | None = None) -> int
        # integer credits; fractional seconds are billed as the next whole second

    from billing.quotes import quote_job, Quote
    quote_job(*, user, team, resolution: str, duration: int, audio: bool) -> Quote
        # frozen dataclass: credits, rate_per_second, seconds, rate_card_version, wallet_id, wallet_label, balance,
        # balance_after, cap_remaining (None = no cap), blocked_reason ('' when OK, else a human message)

    from billing.wallets import wallet_for_spending
    wallet_for_spending(*, user, team) -> Wallet     # personal wallet or the team pool; created lazily

    from billing.ledger import hold, capture, release
    hold(*, wallet, amount, key, user, team, description='', reference_meta: dict | None = None) -> Hold
        # key = the job UUID (unique: one hold per job, ever; calling again with the same key, wallet and amount
        # returns the existing hold). reference_meta keys (all optional): reference (defaults to key),
        # project_id, resolution, audio, provider, seconds, rate_card_version.
    capture(*, hold, amount, usage: dict | None = None) -> None
        # charge `amount` (<= hold.amount) to revenue, release the rest. usage keys (optional): seconds (billed),
        # provider, resolution, audio.
    release(*, hold, reason: str) -> None           # give the whole hold back

    billing.errors: BillingError (base, human message in str(e)), InsufficientCredits, CapExceeded, WalletFrozen,
                    OutstandingDebt (refund debt blocks holds until paid; not a freeze),
                    HoldAlreadyResolved (a second capture/release of one hold)

    billing.models.Hold: fields amount, state ("open" | "captured" | "released"), key, reference, wallet, user, team,
        captured_amount. The job holds a ForeignKey to billing.Hold.

    Reconciliation hook (call once, e.g. in GenerationsConfig.ready):
    billing.reconcile.register_hold_finished_checker(fn: Callable[[Hold], bool | None])
        # True = the hold's job is finished (so an open hold is an error), False = still running, None = unknown.
"""
