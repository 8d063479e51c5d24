"""End-to-end fixtures: a real Celery worker (with embedded beat) as a subprocess, the emulator on a real socket,
the test database and the same broker (Redis in CI via CELERY_BROKER_URL; the filesystem broker under
STUDIO_VAR_DIR locally), and Django's live server so providers can fetch our signed image URLs.

The worker gets short timelines through the environment (poll every 0.3–1 s, reconcile every 2 s, unknown jobs
failed after 3 s, a 2 s provider read timeout against a 4 s emulator "timeout" fault).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.db import connection

from generations.models import GenerationJob
from generations.providers.registry import ADAPTERS
from generations.states import TERMINAL
from studio.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[3]
PREFIXES = {name: adapter.emulator_path for name, adapter in ADAPTERS.items()}  # each adapter's emulator root
EMULATOR_WEBHOOK_SECRET = "whsec_ZW11bGF0b3Itd2F2ZXNwZWVkLXNlY3JldA"  # the emulator's default WaveSpeed secret
DEADLINE = 60.0

pytestmark = pytest.mark.e2e


def database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class Emulator:
    base_url: str
    server: Any

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(method, f"{self.base_url}/_control/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def accepted(self, key: object) -> int:
        return int(self.control("GET", f"creates?key={key}").json()["accepted"])

    def arm(self, **fault: Any) -> None:
        self.control("POST", "faults", json=fault)

    def creates(self, key: object) -> dict[str, Any]:
        """The create counter for one ``Idempotency-Key``: ``count`` (calls seen) and ``accepted`` (jobs made)."""
        return dict(self.control("GET", f"creates?key={key}").json())

    def jobs_for(self, key: object) -> list[dict[str, Any]]:
        """The emulator's jobs created under one ``Idempotency-Key`` (each names its ``provider``)."""
        return [job for job in self.control("GET", "jobs").json()["jobs"] if job["create_key"] == str(key)]


@pytest.fixture
def emulator_server(tmp_path: Path) -> Iterator[Emulator]:
    from generations.emulators.server import run_in_thread

    server, base_url = run_in_thread(
        "127.0.0.1",
        0,
        queue_seconds=0.3,
        run_seconds=1.0,
        timeout_delay_seconds=4.0,
        media_dir=str(tmp_path / "emulator-media"),
    )
    try:
        yield Emulator(base_url=base_url, server=server)
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Worker:
    """A ``celery worker -B`` subprocess (own process group, so SIGKILL takes the pool and beat with it)."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.with_suffix(f".{self.starts}.log")
        self.logs.append(log)
        beat_schedule = self.log_path.parent / f"beat-{self.starts}"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "studio",
            "worker",
            "-B",
            "-s",
            str(beat_schedule),
            "-Q",
            "default,submit,poll,sweep,finalize",
            "-c",
            "3",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        # The pool children and beat must be gone too (they hold database sessions), not only the main process.
        stop = time.monotonic() + 10
        while time.monotonic() < stop:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            if sig != signal.SIGKILL and time.monotonic() > stop - 5:
                os.killpg(self.process.pid, signal.SIGKILL)
            time.sleep(0.1)

    def tail(self, lines: int = 60) -> str:
        if not self.logs:
            return ""
        return "\n".join(self.logs[-1].read_text(errors="replace").splitlines()[-lines:])


def _purge_broker() -> None:
    with celery_app.connection_for_write() as conn:
        for queue in ("default", "submit", "poll", "sweep", "finalize"):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:  # noqa: S112 - a queue that does not exist yet has nothing to purge
                continue


@pytest.fixture
def worker_env() -> dict[str, str]:
    """Extra environment for the worker subprocess, applied last (wins over the defaults below). Override this fixture
    in a test module to give its tests' workers other settings (e.g. a provider's ``*_BASE_URL``)."""
    return {}


@pytest.fixture
def e2e(
    live_server: Any, emulator_server: Emulator, settings: Any, tmp_path: Path, worker_env: dict[str, str]
) -> Iterator[E2E]:
    from billing.metering import DEFAULT_RATES
    from billing.models import RateCard
    from billing.rate_cards import rate_card_publish

    if not RateCard.objects.filter(is_active=True).exists():  # transactional tests flush migration data
        rate_card_publish(rates=DEFAULT_RATES, note="e2e")
    base = emulator_server.base_url
    settings.PUBLIC_BASE_URL = live_server.url
    settings.EMULATOR_URL = base
    settings.SSRF_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    providers = {name: dict(config) for name, config in django_settings.PROVIDERS.items()}
    for name, prefix in PREFIXES.items():
        providers[name].update(BASE_URL=base + prefix, API_KEY="emulator-key", ENABLED=True)
    providers["wavespeed"]["WEBHOOK_SECRET"] = EMULATOR_WEBHOOK_SECRET
    settings.PROVIDERS = providers
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "STUDIO_VAR_DIR": str(django_settings.VAR_DIR),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "PUBLIC_BASE_URL": live_server.url,
        "EMULATOR_URL": base,
        "PROVIDER_HTTP_TIMEOUT": "2",
        "WAVESPEED_WEBHOOK_SECRET": EMULATOR_WEBHOOK_SECRET,
        "GENERATIONS_POLL_BASE_SECONDS": "0.3",
        "GENERATIONS_POLL_MAX_SECONDS": "1",
        "GENERATIONS_REQUEUE_BASE_SECONDS": "0.5",
        "GENERATIONS_RECONCILE_SECONDS": "2",
        "GENERATIONS_STUCK_SECONDS": "6",
        "GENERATIONS_UNKNOWN_GRACE_SECONDS": "3",
        # The poll engine on the same short timelines: a sweep every 0.3 s, a claim's lease outlives the 2 s HTTP
        # timeout only a little (a SIGKILLed sweep's jobs are due again soon).
        "GENERATIONS_POLL_SWEEP_SECONDS": "0.3",
        "GENERATIONS_POLL_DENSE_SECONDS": "0.3",
        "GENERATIONS_POLL_LEASE_SECONDS": "4",
        "PYTHONUNBUFFERED": "1",
    }
    for name, prefix in PREFIXES.items():
        env[f"{ADAPTERS[name].env_prefix}_BASE_URL"] = base + prefix
    env.update(worker_env)
    _purge_broker()
    worker = Worker(env=env, log_path=tmp_path / "worker")
    worker.start()
    try:
        yield E2E(worker=worker, emulator=emulator_server, live_server_url=live_server.url)
    finally:
        worker.kill(signal.SIGTERM)
        worker.kill()


@dataclass
class E2E:
    worker: Worker
    emulator: Emulator
    live_server_url: str

    def wait_for_attempt(self, job: GenerationJob, *, deadline: float = 20.0) -> None:
        """Wait until the job's create request was made (so an armed fault is consumed by this job)."""
        stop = time.monotonic() + deadline
        while time.monotonic() < stop:
            if job.attempts.filter(is_create=True).exists():
                return
            time.sleep(0.1)
        pytest.fail(f"job {job.pk} never sent its create\n--- worker log ---\n{self.worker.tail()}")

    def wait(
        self, jobs: list[GenerationJob], *, deadline: float = DEADLINE, tick: Callable[[], None] | None = None
    ) -> None:
        """Wait (bounded) until every job is terminal."""
        ids = [job.pk for job in jobs]
        stop = time.monotonic() + deadline
        while time.monotonic() < stop:
            states = dict(GenerationJob.objects.filter(pk__in=ids).values_list("pk", "state"))
            if all(state in TERMINAL for state in states.values()):
                for job in jobs:
                    job.refresh_from_db()
                return
            if tick is not None:
                tick()
            time.sleep(0.25)
        states = dict(GenerationJob.objects.filter(pk__in=ids).values_list("pk", "state"))
        pytest.fail(f"jobs not terminal after {deadline} s: {states}\n--- worker log ---\n{self.worker.tail()}")
