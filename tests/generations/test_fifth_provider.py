"""A provider is one place: a throwaway fifth provider, registered from ONE adapter module and ONE emulator module
(``tests/providers/fifth/``), runs a job end to end — composer choices, routing, slot, submit, poll, download,
charge — with no other file touched (generations/providers/README.md, "Adding a provider")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from billing.models import HoldState
from generations.emulators.registry import register_emulator, unregister_emulator
from generations.forms import ComposerForm
from generations.providers.base import Mode
from generations.providers.registry import (
    ADAPTERS,
    provider_choices,
    providers_setting,
    register_adapter,
    unregister_adapter,
)
from generations.services.jobs import generation_create
from generations.states import State
from tests.generations.helpers import accepted_for, balance
from tests.generations.test_generation_lifecycle import request_for
from tests.providers.conftest import EMULATOR_URL
from tests.providers.fifth.adapter import AcmeAdapter
from tests.providers.fifth.emulator import AcmeEmulator


@pytest.fixture
def acme() -> Iterator[None]:
    """Registered before ``pipeline`` builds the emulator app (fixtures are set up in argument order)."""
    register_adapter(AcmeAdapter)
    register_emulator(AcmeEmulator)
    try:
        yield
    finally:
        unregister_adapter("acme")
        unregister_emulator("acme")


def test_the_settings_for_a_new_provider_come_from_its_adapter(acme) -> None:
    built = providers_setting(emulator_url="http://127.0.0.1:9999", environ={})
    assert built["acme"]["BASE_URL"] == "http://127.0.0.1:9999/acme/v1"
    assert built["acme"]["EMULATED"] is True and built["acme"]["CONCURRENCY"] == 2
    real = providers_setting(emulator_url="http://127.0.0.1:9999", environ={"ACME_API_KEY": "k"})
    assert real["acme"]["BASE_URL"] == "https://api.acme.invalid/v1" and real["acme"]["EMULATED"] is False


def test_a_fifth_provider_runs_a_job_end_to_end(acme, pipeline, settings) -> None:
    assert "acme" in ADAPTERS and "acme" in pipeline.emulator.app.providers
    settings.PROVIDERS = {
        **settings.PROVIDERS,
        "acme": {
            "API_KEY": "emulator-key",
            "BASE_URL": EMULATOR_URL + AcmeAdapter.emulator_path,
            "CONCURRENCY": 2,
            "ENABLED": True,
            "EMULATED": True,
        },
    }
    world = pipeline.world
    assert ("acme", "Acme Video") in provider_choices(enabled_only=True)
    form = ComposerForm(team_id=world.team.pk)
    assert "acme" in dict(form.fields["provider"].choices)  # type: ignore[attr-defined]

    before = balance(world.member, world.team)
    job = generation_create(
        user=world.member, project=world.project, request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "acme")
    )
    assert job.provider == "acme"
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED, (job.error_code, job.error_message)
    assert job.output
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.CAPTURED
    assert job.charged_credits > 0
    assert balance(world.member, world.team) == before - job.charged_credits
    assert accepted_for(pipeline.emulator, job) == 1
    # The emulator served its create and polls through the shared app: counted like any provider's.
    assert pipeline.emulator.app.store.get_job("acme", job.provider_job_id) is not None
