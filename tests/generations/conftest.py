"""Fixtures for the pipeline's fast tests: the in-process emulator wired into the HTTP seam, an inline worker in
place of Celery, funded wallets and reference assets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from generations.services.enqueue import use_sink
from studio.assets.models import Asset
from tests.conftest import World
from tests.generations.helpers import DjangoClientTransport, InlineWorker, fund, make_asset
from tests.providers.conftest import EmulatorSetup, emulator_setup


@dataclass
class Pipeline:
    emulator: EmulatorSetup
    worker: InlineWorker
    world: World
    cat: Asset
    park: Asset


@pytest.fixture
def pipeline(world: World, settings: Any, tmp_path: Path) -> Iterator[Pipeline]:
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
        },
    }
    settings.AWS_STORAGE_BUCKET_NAME = ""
    settings.GENERATIONS_POLL_BASE_SECONDS = 0.1
    settings.GENERATIONS_POLL_MAX_SECONDS = 1.0
    with emulator_setup(settings, tmp_path / "emulator-media", fetch_transport=DjangoClientTransport()) as emulator:
        for provider in settings.PROVIDERS.values():
            provider["WEBHOOK_SECRET"] = ""  # no webhook URLs in submits; webhook tests call the view directly
        settings.SSRF_ALLOWED_HOSTS = [*settings.SSRF_ALLOWED_HOSTS, "testserver"]
        worker = InlineWorker()
        for user in (world.owner, world.admin, world.member):
            fund(user, world.team)
        with use_sink(worker, immediate=True):
            yield Pipeline(
                emulator=emulator,
                worker=worker,
                world=world,
                cat=make_asset(world.team, ref_name="cat", user=world.owner),
                park=make_asset(world.team, ref_name="park", user=world.owner, colour=(40, 160, 60)),
            )
