"""Issue 13 finding 2: the demo seed refuses outside DEBUG unless asked by name; production refuses a placeholder
SECRET_KEY; compose.yaml neither seeds the demo nor defaults the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from studio.accounts.models import User
from tests.test_env import _settings_in_a_fresh_interpreter

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_finding_02_seed_demo_refuses_outside_debug(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        call_command("seed_demo", "--quiet")
    assert not User.objects.filter(email="demo@studio.local").exists()


@pytest.mark.django_db
def test_finding_02_seed_demo_runs_in_debug(settings: Any) -> None:
    settings.DEBUG = True
    call_command("seed_demo", "--quiet")
    assert User.objects.filter(email="demo@studio.local", is_superuser=True).exists()


@pytest.mark.django_db
def test_finding_02_seed_demo_runs_outside_debug_when_asked_explicitly(settings: Any) -> None:
    settings.DEBUG = False
    call_command("seed_demo", "--quiet", "--outside-debug")
    assert User.objects.filter(email="demo@studio.local").exists()


@pytest.mark.parametrize(
    "key", ["change-me-in-production", "dev-only-insecure-key-do-not-use-in-production", "django-insecure-abc"]
)
def test_finding_02_production_refuses_a_placeholder_secret_key(tmp_path: Path, key: str) -> None:
    refused = _settings_in_a_fresh_interpreter(tmp_path, "print(settings.SECRET_KEY)", SECRET_KEY=key)
    assert refused.returncode != 0
    assert "SECRET_KEY is a published placeholder" in refused.stderr
    empty = _settings_in_a_fresh_interpreter(tmp_path, "print(settings.SECRET_KEY)", SECRET_KEY="")
    assert empty.returncode != 0 and "SECRET_KEY must be set" in empty.stderr


def test_finding_02_compose_has_no_demo_seed_and_no_default_secret() -> None:
    compose = (ROOT / "compose.yaml").read_text()
    commands = [line for line in compose.splitlines() if line.strip().startswith("command:")]
    assert not any("seed_demo" in line for line in commands)
    assert "change-me-in-production" not in compose
    assert "${SECRET_KEY:?" in compose  # compose itself refuses to start without a key
