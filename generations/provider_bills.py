"""Provider-bill reconciliation: what each provider charged (or would charge) us, next to what we charged users.

Per provider and day (the day a job finished, UTC): jobs, seconds we charged and credits we captured (both from the
job's hold — the ledger's own record), the provider's cost in USD and the margin. And every job where the two sides
disagree:

- ``seconds``: the provider billed other seconds than we charged (DashScope ``usage.duration``; PixVerse
  ``Resp.credits`` turned into seconds through its price table);
- ``refunded``: the provider charged for a job we refunded (its hold was released);
- ``not_found``: we could not find the job at the provider (an ambiguous create that was never confirmed).

The provider's charge: PixVerse's reported credits × its ``usd_per_credit``; otherwise the seconds the provider
billed (or, when it does not say, the seconds we charged) × the price table in force on that day. A provider without a
price table has an unknown cost (shown as such, never as 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from billing.models import CreditPack, HoldState
from generations.models import GenerationJob, ProviderPrice, ProviderPriceTable
from generations.states import TERMINAL, State

SECONDS_TOLERANCE = 0.01
USD = Decimal("0.0001")


@dataclass
class DayRow:
    provider: str
    day: date
    jobs: int = 0
    seconds_charged: float = 0.0
    credits_captured: int = 0
    provider_cost_usd: Decimal = Decimal(0)
    cost_unknown_jobs: int = 0
    revenue_usd: Decimal = Decimal(0)

    @property
    def margin_usd(self) -> Decimal | None:
        """Revenue minus provider cost; ``None`` while some job's cost is unknown (no price table)."""
        if self.cost_unknown_jobs:
            return None
        return (self.revenue_usd - self.provider_cost_usd).quantize(USD)


@dataclass(frozen=True)
class Mismatch:
    job_id: str
    provider: str
    day: date
    kind: str  # seconds | refunded | not_found
    detail: str


@dataclass
class ProviderBillReport:
    since: date
    rows: list[DayRow] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def credits_captured(self) -> int:
        return sum(row.credits_captured for row in self.rows)

    @property
    def seconds_charged(self) -> float:
        return sum(row.seconds_charged for row in self.rows)


def price_table(provider: str, on: date) -> ProviderPriceTable | None:
    """The table in force for ``provider`` on ``on``: the latest ``effective_from`` not after it, newest version."""
    return (
        ProviderPriceTable.objects.filter(provider=provider, effective_from__lte=on)
        .order_by("-effective_from", "-version")
        .first()
    )


def price_per_second(table: ProviderPriceTable | None, *, resolution: str, audio: bool) -> Decimal | None:
    if table is None:
        return None
    cell = ProviderPrice.objects.filter(table=table, resolution=resolution, audio=audio).first()
    return cell.usd_per_second if cell is not None else None


def usd_per_credit_of_ours() -> Decimal:
    """What one of our credits sells for: the cheapest active pack's price per credit (revenue side of the margin)."""
    packs = CreditPack.objects.filter(active=True, credits__gt=0)
    rates = [Decimal(pack.price_cents) / Decimal(100) / Decimal(pack.credits) for pack in packs]
    return min(rates) if rates else Decimal(0)


@dataclass(frozen=True)
class ProviderCharge:
    usd: Decimal | None  # None: unknown (no price table)
    seconds: float | None  # what the provider billed, when it says or its credits tell


def provider_charge(job: GenerationJob, *, table: ProviderPriceTable | None, charged_seconds: float) -> ProviderCharge:
    """What ``job``'s provider reports it charged (module docstring)."""
    rate = price_per_second(table, resolution=job.resolution, audio=job.generate_audio_switch)
    if job.provider_credits is not None and table is not None and table.usd_per_credit:
        usd = Decimal(job.provider_credits) * table.usd_per_credit
        seconds = float(usd / rate) if rate else None
        return ProviderCharge(usd=usd, seconds=seconds)
    if job.billed_seconds is not None:
        seconds = float(job.billed_seconds)
    elif job.state == State.SUCCEEDED or job.output:
        seconds = charged_seconds
    else:
        seconds = 0.0  # nothing the provider says it billed for a job it did not deliver
    return ProviderCharge(usd=None if rate is None else rate * Decimal(str(seconds)), seconds=seconds)


def provider_bill_report(*, since: date, until: date | None = None) -> ProviderBillReport:
    """The report for jobs finished from ``since`` (inclusive) to ``until`` (exclusive; default: no end)."""
    start = datetime.combine(since, time.min, tzinfo=UTC)
    jobs = GenerationJob.objects.filter(state__in=TERMINAL, finished_at__gte=start).exclude(hold=None)
    if until is not None:
        jobs = jobs.filter(finished_at__lt=datetime.combine(until, time.min, tzinfo=UTC))
    our_credit = usd_per_credit_of_ours()
    rows: dict[tuple[str, date], DayRow] = {}
    tables: dict[tuple[str, date], ProviderPriceTable | None] = {}
    report = ProviderBillReport(since=since)
    for job in jobs.select_related("hold").order_by("finished_at", "pk"):
        day = job.finished_at.astimezone(UTC).date() if job.finished_at else since
        provider = job.provider or "-"
        row = rows.setdefault((provider, day), DayRow(provider=provider, day=day))
        hold = job.hold
        if hold is None:  # excluded by the query; keeps the type checker honest
            continue
        captured = int(hold.captured_amount) if hold.state == HoldState.CAPTURED else 0
        # What we charged is capped by the hold (the quoted duration), whatever the provider billed.
        charged_seconds = (
            min(float(hold.billed_seconds or job.duration), float(job.duration))
            if hold.state == HoldState.CAPTURED
            else 0.0
        )
        row.jobs += 1
        row.credits_captured += captured
        row.seconds_charged += charged_seconds
        row.revenue_usd += Decimal(captured) * our_credit
        if (provider, day) not in tables:
            tables[(provider, day)] = price_table(provider, day)
        charge = provider_charge(job, table=tables[(provider, day)], charged_seconds=charged_seconds)
        if charge.usd is None:
            if charge.seconds:
                row.cost_unknown_jobs += 1
        else:
            row.provider_cost_usd += charge.usd
        report.mismatches += _mismatches(
            job, day=day, captured=captured, charged_seconds=charged_seconds, charge=charge
        )
    for row in rows.values():
        row.provider_cost_usd = row.provider_cost_usd.quantize(USD)
        row.revenue_usd = row.revenue_usd.quantize(USD)
    report.rows = sorted(rows.values(), key=lambda row: (row.day, row.provider))
    return report


def _mismatches(
    job: GenerationJob, *, day: date, captured: int, charged_seconds: float, charge: ProviderCharge
) -> list[Mismatch]:
    def found(kind: str, detail: str) -> Mismatch:
        return Mismatch(job_id=str(job.pk), provider=job.provider, day=day, kind=kind, detail=detail)

    if job.state == State.FAILED and job.error_code == "unconfirmed_submit":
        return [found("not_found", "the create was sent but the provider never confirmed the job")]
    provider_billed = bool(charge.seconds) or bool(job.provider_credits)
    if not captured:
        if provider_billed and job.provider_job_id:
            what = f"{job.provider_credits} credits" if job.provider_credits else f"{charge.seconds:g} s"
            return [found("refunded", f"we refunded the job ({job.state}); the provider reports {what}")]
        return []
    if charge.seconds is not None and abs(charge.seconds - charged_seconds) > SECONDS_TOLERANCE:
        return [found("seconds", f"we charged {charged_seconds:g} s; the provider billed {charge.seconds:g} s")]
    return []


@dataclass(frozen=True)
class ProviderBalance:
    provider: str
    label: str
    credits: int | None
    error: str = ""


def provider_balances() -> list[ProviderBalance]:
    """Each enabled provider's own balance, where it has a balance endpoint (PixVerse ``/account/balance``).

    Read live (free, safe to retry); a failure is shown, never raised, so the report still renders.
    """
    from generations.providers.errors import ProviderError
    from generations.providers.registry import all_adapters

    balances: list[ProviderBalance] = []
    for adapter in all_adapters():
        read = getattr(adapter, "balance", None)
        if not callable(read):
            continue
        try:
            balances.append(ProviderBalance(adapter.name, adapter.label, int(read())))
        except ProviderError as exc:
            balances.append(ProviderBalance(adapter.name, adapter.label, None, error=str(exc)[:200]))
    return balances
