"""Which provider runs a job, and the per-provider circuit breaker.

``auto`` picks the cheapest *healthy* provider that supports the job's mode and options:

- Support comes from the adapters (``check_supported``: modes, options, limits); disabled providers are skipped.
- Cost comes from each provider's USD price table in force today (``ProviderPriceTable``, staff-edited, seeded from
  providers.md; ``generations.provider_bills.price_per_second``); when no provider has one, from the active rate
  card's ``RateCardCell.provider_costs`` column. Providers without a cost are ranked after those with one, by
  each adapter's ``routing_rank``: PixVerse direct first (first-party prices, PixVerse's own credit unit), then
  WaveSpeed (its published USD table is our rate card, so it is never below it), then DashScope and HighwayAPI.
- Healthy = the circuit breaker is closed or half-open. When every candidate's circuit is open the preferred one is
  still chosen: the job waits in the queue instead of failing.

Failover (``generations.services.submit``) only follows a *definite, non-billable* refusal (``NotAccepted``), never an
ambiguous or accepted submit; the refused providers are excluded from the next choice.

The breaker lives in the database (``ProviderAccount``) so every worker sees it: ``circuit_threshold`` consecutive
transient failures (5xx, connection failures, ambiguous creates) open it for ``circuit_cooldown_seconds``; after the
cool-down it is half-open (traffic flows; one more failure re-opens it, one success closes it). 429 and PixVerse
500044 are capacity signals, not ill health, and do not count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from generations.models import AUTO, ProviderAccount
from generations.providers.base import JobSpec
from generations.providers.errors import UnsupportedFeatureError
from generations.providers.registry import (
    ADAPTERS,
    UnknownProviderError,
    adapter_class,
    emulation_blocked,
    provider_config,
    routing_order,
)
from generations.services import config

logger = logging.getLogger("generations.routing")


class NoProviderAvailable(Exception):
    """No enabled provider can run this job. The message is user-facing."""


@dataclass(frozen=True)
class RoutingDecision:
    provider: str
    reason: str


# ---------------------------------------------------------------------------------------------------------------------
# Circuit breaker


def circuit_is_open(provider: str) -> bool:
    """True while the breaker is open (cool-down not over). Half-open counts as closed: traffic may flow."""
    account = ProviderAccount.objects.filter(name=provider).only("open_until").first()
    return account is not None and account.open_until is not None and account.open_until > timezone.now()


def record_failure(provider: str) -> bool:
    """Count one transient failure; open the breaker at the threshold. Returns True when the breaker is now open."""
    ProviderAccount.objects.get_or_create(name=provider)
    ProviderAccount.objects.filter(name=provider).update(consecutive_failures=F("consecutive_failures") + 1)
    account = ProviderAccount.objects.get(name=provider)
    if account.consecutive_failures >= config.circuit_threshold():
        until = timezone.now() + timedelta(seconds=config.circuit_cooldown_seconds())
        ProviderAccount.objects.filter(name=provider).update(open_until=until)
        logger.warning("circuit for %s open until %s (%d failures)", provider, until, account.consecutive_failures)
        return True
    return False


def record_success(provider: str) -> None:
    """Close the breaker (writes only when it was not already closed)."""
    ProviderAccount.objects.filter(name=provider).exclude(consecutive_failures=0, open_until=None).update(
        consecutive_failures=0, open_until=None
    )


# ---------------------------------------------------------------------------------------------------------------------
# Choice


def supports(provider: str, spec: JobSpec) -> str:
    """ "" when ``provider`` can run ``spec``; otherwise why not (user-facing)."""
    try:
        adapter = adapter_class(provider)()
    except UnknownProviderError as exc:
        return str(exc)
    if emulation_blocked(provider):
        return (
            f"{adapter.label} runs on the local emulator, which is not offered beside real providers "
            "(ALLOW_EMULATED_BESIDE_REAL enables it)"
        )
    if not provider_config(provider).enabled:
        return f"{adapter.label} is switched off"
    try:
        adapter.check_supported(spec)
    except UnsupportedFeatureError as exc:
        return exc.message
    return ""


def provider_costs(*, resolution: str, audio: bool) -> dict[str, float]:
    """Our cost per second at each provider, in USD, from its price table in force today (providers without a table
    are absent). Falls back to the active rate card's ``provider_costs`` column for providers with no table."""
    from billing.models import RateCardCell
    from generations.provider_bills import price_per_second, price_table

    today = timezone.now().date()
    costs: dict[str, float] = {}
    for name in ADAPTERS:
        rate = price_per_second(price_table(name, today), resolution=resolution, audio=audio)
        if rate is not None:
            costs[name] = float(rate)
    cell = (
        RateCardCell.objects.filter(rate_card__is_active=True, resolution=resolution, audio=audio)
        .only("provider_costs")
        .first()
    )
    if cell is not None and isinstance(cell.provider_costs, dict) and not costs:
        for name, value in cell.provider_costs.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                costs[str(name)] = float(value)
    return costs


def _rank(provider: str, costs: dict[str, float]) -> tuple[float, int]:
    return (costs.get(provider, float("inf")), adapter_class(provider).routing_rank)


def choose_provider(*, spec: JobSpec, requested: str, exclude: Iterable[str] = ()) -> RoutingDecision:
    """The provider for ``spec``: ``requested`` itself when it names one, else the auto choice (module docstring).

    Raises ``NoProviderAvailable`` when nothing (left) can run the job.
    """
    if requested != AUTO:
        why_not = supports(requested, spec)
        if why_not:
            raise NoProviderAvailable(why_not)
        return RoutingDecision(requested, "chosen by the user")
    excluded = set(exclude)
    skipped: list[str] = []
    candidates: list[str] = []
    for name in routing_order():
        if name in excluded:
            skipped.append(f"{name}: refused this job")
            continue
        why_not = supports(name, spec)
        if why_not:
            skipped.append(f"{name}: unsupported")
        else:
            candidates.append(name)
    if not candidates:
        raise NoProviderAvailable(
            "No available provider can make this video with these options"
            + (f" ({'; '.join(skipped)})" if skipped else "")
            + ". Change the options."
        )
    costs = provider_costs(resolution=spec.resolution, audio=spec.generate_audio_switch)
    healthy = [name for name in candidates if not circuit_is_open(name)]
    skipped += [f"{name}: circuit open" for name in candidates if name not in healthy]
    pool = healthy or candidates
    chosen = min(pool, key=lambda name: _rank(name, costs))
    if chosen in costs:
        others = sorted((costs[name], name) for name in pool if name in costs and name != chosen)
        compared = "; ".join(f"{adapter_class(name).label} ${cost:g}/s" for cost, name in others)
        basis = f"cheapest healthy provider: {adapter_class(chosen).label} at ${costs[chosen]:g}/s" + (
            f" (vs {compared})" if compared else ""
        )
        tied = [name for name in pool if costs.get(name) == costs[chosen] and name != chosen]
        if tied:
            basis += f"; tie broken by routing rank over {', '.join(tied)}"
    else:
        basis = "first healthy provider by routing rank (no price table for the candidates)"
    if not healthy:
        basis += " (every candidate's circuit is open; the job waits)"
    reason = f"auto: {basis} for {spec.mode.value}"
    if skipped:
        reason += f"; skipped {', '.join(skipped)}"
    return RoutingDecision(chosen, reason[:500])
