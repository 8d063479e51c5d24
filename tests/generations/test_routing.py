"""Auto routing, the circuit breaker, and failover (only after a definite refusal, never after an ambiguous submit)."""

from __future__ import annotations

import uuid

import pytest

from billing.models import HoldState, RateCardCell
from generations import routing
from generations.models import AUTO, ProviderAccount
from generations.providers.base import JobSpec, Mode
from generations.services.jobs import generation_create
from generations.states import State
from tests.generations.helpers import accepted_for, creates_for, run_with_requeues
from tests.generations.test_generation_lifecycle import request_for


def spec(mode: Mode = Mode.TEXT_TO_VIDEO, **kwargs) -> JobSpec:
    return JobSpec(job_id=uuid.uuid4(), mode=mode, prompt="a lake", aspect_ratio="16:9", **kwargs)


@pytest.mark.django_db
def test_auto_breaks_a_price_tie_by_routing_rank():
    # Seeded from providers.md: PixVerse and WaveSpeed publish the same C1 prices; PixVerse ranks first.
    decision = routing.choose_provider(spec=spec(), requested=AUTO)
    assert decision.provider == "pixverse"
    assert "$0.05/s" in decision.reason and "tie broken by routing rank" in decision.reason


@pytest.mark.django_db
def test_auto_skips_providers_that_cannot_do_the_options():
    # Only PixVerse and DashScope take a seed for C1; with PixVerse refused, DashScope is what is left.
    decision = routing.choose_provider(spec=spec(seed=7), requested=AUTO, exclude=["pixverse"])
    assert decision.provider == "dashscope"
    assert "wavespeed: unsupported" in decision.reason and "highway: unsupported" in decision.reason


def _price_table(provider: str, usd: str, *, version: int = 1, days_ago: int = 0) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from generations.models import ProviderPrice, ProviderPriceTable

    table = ProviderPriceTable.objects.create(
        provider=provider, version=version, effective_from=timezone.now().date() - timedelta(days=days_ago)
    )
    ProviderPrice.objects.create(table=table, resolution="720p", audio=False, usd_per_second=Decimal(usd))


@pytest.mark.django_db
def test_auto_picks_the_cheapest_provider_from_the_price_tables_and_says_why():
    _price_table("highway", "0.041")
    decision = routing.choose_provider(spec=spec(resolution="720p"), requested=AUTO)
    assert decision.provider == "highway"
    assert "cheapest healthy provider: HighwayAPI at $0.041/s" in decision.reason
    assert "PixVerse Platform $0.05/s" in decision.reason  # the quote shows what it was compared with


@pytest.mark.django_db
def test_a_newer_price_version_wins_and_an_open_circuit_loses():
    _price_table("highway", "0.041", version=1, days_ago=3)
    _price_table("highway", "0.090", version=2, days_ago=1)  # prices went up yesterday
    assert routing.choose_provider(spec=spec(resolution="720p"), requested=AUTO).provider == "pixverse"
    _price_table("dashscope", "0.010")
    ProviderAccount.objects.create(name="dashscope", open_until=timezone_now_plus(60))
    decision = routing.choose_provider(spec=spec(resolution="720p"), requested=AUTO)
    assert decision.provider == "pixverse"  # the cheapest one is unhealthy
    assert "dashscope: circuit open" in decision.reason


def timezone_now_plus(seconds: int):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(seconds=seconds)


@pytest.mark.django_db
def test_the_rate_card_cost_column_is_used_only_without_price_tables():
    from generations.models import ProviderPriceTable

    ProviderPriceTable.objects.all().delete()
    RateCardCell.objects.filter(rate_card__is_active=True, resolution="720p", audio=False).update(
        provider_costs={"pixverse": 9.0, "wavespeed": 10.0, "highway": 7.5}
    )
    decision = routing.choose_provider(spec=spec(resolution="720p"), requested=AUTO)
    assert decision.provider == "highway"
    assert "cheapest" in decision.reason


@pytest.mark.django_db
def test_open_circuit_is_skipped_then_half_opens(settings):
    settings.GENERATIONS_CIRCUIT_THRESHOLD = 2
    settings.GENERATIONS_CIRCUIT_COOLDOWN_SECONDS = 60
    assert routing.record_failure("pixverse") is False
    assert routing.record_failure("pixverse") is True
    assert routing.circuit_is_open("pixverse")
    assert routing.choose_provider(spec=spec(), requested=AUTO).provider == "wavespeed"
    ProviderAccount.objects.filter(name="pixverse").update(open_until=None)  # cool-down over: half-open
    assert not routing.circuit_is_open("pixverse")
    assert routing.record_failure("pixverse") is True  # one more failure re-opens it
    routing.record_success("pixverse")
    assert ProviderAccount.objects.get(name="pixverse").consecutive_failures == 0


@pytest.mark.django_db
def test_a_pinned_provider_that_cannot_do_the_mode_is_refused():
    with pytest.raises(routing.NoProviderAvailable):
        routing.choose_provider(spec=spec(seed=7), requested="highway")


def test_auto_fails_over_after_a_definite_refusal(pipeline, settings):
    settings.PROVIDERS["pixverse"]["API_KEY"] = "invalid-key"  # 401: a definite, permanent refusal
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, AUTO),
    )
    assert job.provider == "pixverse"
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    assert job.provider == "wavespeed"
    assert job.providers_refused == ["pixverse"]
    assert "failover from pixverse" in job.routing_reason
    assert accepted_for(pipeline.emulator, job) == 1


def test_auto_fails_over_when_transient_failures_open_the_circuit(pipeline, settings):
    settings.GENERATIONS_CIRCUIT_THRESHOLD = 1
    pipeline.emulator.arm(provider="pixverse", fault="error500", on="create", times=1)
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, AUTO),
    )
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    assert job.provider == "wavespeed"
    assert routing.circuit_is_open("pixverse")


def test_a_failover_gives_the_next_provider_its_own_full_set_of_tries(pipeline, settings):
    """Refusals counted at the first provider must not eat into the second one's attempts."""
    settings.GENERATIONS_CIRCUIT_THRESHOLD = 2
    settings.GENERATIONS_MAX_SUBMIT_ATTEMPTS = 3
    pipeline.emulator.arm(provider="pixverse", fault="error500", on="create", times=2)
    # Rate limits do not count against the circuit, so the job stays at WaveSpeed for them.
    pipeline.emulator.arm(provider="wavespeed", fault="ratelimit", on="create", times=2)
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, AUTO),
    )
    run_with_requeues(pipeline, job)
    assert job.provider == "wavespeed"
    assert job.providers_refused == ["pixverse"]
    assert job.state == State.SUCCEEDED  # wavespeed's third try: 2 refusals there, not 2 + 2 carried over
    assert accepted_for(pipeline.emulator, job) == 1


def test_no_failover_after_an_ambiguous_submit(pipeline, settings):
    pipeline.emulator.arm(provider="pixverse", fault="timeout", on="create", times=1)
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, AUTO),
    )
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    assert job.provider == "pixverse"
    assert job.providers_refused == []
    assert creates_for(pipeline.emulator, job) == 1  # only PixVerse ever saw a create for this job
    assert job.attempts.filter(is_create=True).values_list("provider", flat=True).distinct().get() == "pixverse"
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.OPEN


def test_capacity_refusals_do_not_count_against_the_circuit(pipeline, settings):
    settings.GENERATIONS_CIRCUIT_THRESHOLD = 1
    pipeline.emulator.arm(provider="pixverse", fault="busy", on="create", times=1)
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, AUTO),
    )
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.QUEUED
    assert job.provider == "pixverse"  # 500044: back to the queue for PixVerse, no failover
    assert not routing.circuit_is_open("pixverse")
