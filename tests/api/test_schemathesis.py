"""Schemathesis against /api/v1/openapi.json on a live server: generated requests (valid and invalid) to every
operation never get a 500, and every documented response matches its schema. Bounded: a fixed seed, a few examples
per operation and a time budget, so it takes a minute or two on a small machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from billing.models import RateCard
from generations.services.enqueue import use_sink
from studio.accounts.services import api_token_create
from tests.generations.helpers import InlineWorker, fund, make_asset

MAX_SECONDS = 150


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_generated_requests_never_500_and_match_the_schema(live_server, world, settings, tmp_path: Path) -> None:
    from billing.metering import DEFAULT_RATES
    from billing.rate_cards import rate_card_publish

    if not RateCard.objects.filter(is_active=True).exists():  # transactional tests flush migration data
        rate_card_publish(rates=DEFAULT_RATES, note="schemathesis")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
        },
    }
    settings.AWS_STORAGE_BUCKET_NAME = ""
    settings.API_RATE_LIMITS = {"submit": (100_000, 60), "upload": (100_000, 60)}
    fund(world.owner, world.team, 1_000_000)
    make_asset(world.team, ref_name="cat", user=world.owner)
    _, raw = api_token_create(user=world.owner, team=world.team, name="schemathesis")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{live_server.url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {raw}",
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--max-examples",
        "8",
        "--max-time",
        str(MAX_SECONDS - 60),
        "--seed",
        "11",
        "--workers",
        "1",
        "--no-shrink",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    # Jobs the fuzzer manages to create are queued, never sent (no worker, no broker).
    with use_sink(InlineWorker()):
        result = subprocess.run(command, capture_output=True, text=True, timeout=MAX_SECONDS, cwd=tmp_path, check=False)
    output = result.stdout[-12000:] + result.stderr[-4000:]
    (Path(__file__).resolve().parents[2] / "var").mkdir(exist_ok=True)
    (Path(__file__).resolve().parents[2] / "var" / "schemathesis.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, output
    assert "passed" in output.lower() or "no issues found" in output.lower(), output
