"""`make bench`: the real paths, each measured side by side with a reference in the same run.

Writes docs/benchmarks.md (method, machine, figures, references) and docs/benchmarks.json. Runs on PostgreSQL when
DATABASE_URL points at one (a fresh ``<name>_bench`` database is created and dropped), else on a SQLite file; the
emulator runs as a real HTTP server in its own process. Every section is time-boxed so the whole run stays well
under 30 minutes; ``BENCH_QUICK=1`` shrinks every size for a smoke run. A section that fails is reported as such, not
hidden. Figures are ratios to references taken in the same run: on a shared machine only those are comparable.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
QUICK = os.environ.get("BENCH_QUICK") == "1"
RESULTS: dict[str, Any] = {"sections": {}, "errors": {}}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


ROUNDS = 3  # interleaved rounds of the side-by-side sections (holds, pages); each figure is its median round
HOLD_ROUNDS = 5  # the holds' rounds: each ratio is the median of five rounds' paired ratios
PAGE_ROUNDS = 7  # the pages' rounds: each ratio is the median of seven rounds' ratios


def median_round(rounds: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The round whose ``key`` is the median (the lower middle one for an even count): one real measurement with all
    its figures, not a mix of several."""
    ordered = sorted(rounds, key=lambda r: r[key])
    return ordered[(len(ordered) - 1) // 2]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


# ---------------------------------------------------------------------------------------------------------------------
# Environment: database, emulator, Django


class Emulator:
    """``manage.py emulate_providers`` in its own process. ``prerender_lead`` > 0 makes each output ready when the job
    completes, as a real provider's CDN has it (rendering on the first download would add the emulator's own render
    time to "done → playable"). ``wavespeed_webhook_secret`` is what it signs WaveSpeed webhooks with."""

    def __init__(
        self,
        *,
        queue_seconds: float,
        run_seconds: float,
        prerender_lead: float = 0.0,
        wavespeed_webhook_secret: str = "",
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.wavespeed_webhook_secret = wavespeed_webhook_secret or "whsec_" + uuid.uuid4().hex
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "studio.settings",
            "DEBUG": "1",
            "EMULATOR_PRERENDER_LEAD_SECONDS": str(prerender_lead),
            "EMULATOR_WAVESPEED_WEBHOOK_SECRET": self.wavespeed_webhook_secret,
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "emulate_providers",
                "--port",
                str(self.port),
                "--queue-seconds",
                str(queue_seconds),
                "--run-seconds",
                str(run_seconds),
                "--quiet",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_http(f"{self.url}/_control/config")

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        answer = httpx.request(method, f"{self.url}/_control/{path}", timeout=30, **kwargs)
        answer.raise_for_status()  # a refused control call must stop the bench, not measure something else
        return answer.json()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)


class PrivateRedis:
    """A redis-server of our own on a free port, keeping nothing on disk (the live-jobs poller's broker, the soak's)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        import socket

        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.1)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def prepare_database(suffix: str = "bench") -> str:
    """A fresh ``<name>_<suffix>`` PostgreSQL database next to DATABASE_URL's (or a SQLite file); sets DATABASE_URL."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        bench = f"{name.split('?')[0]}_{suffix}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{bench}"')
        os.environ["DATABASE_URL"] = f"{base}/{bench}"
        return "postgresql"
    path = ROOT / "var" / f"{suffix}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return "sqlite"


def drop_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres") and url.rsplit("_", 1)[-1] in ("bench", "chaos"):
        import psycopg
        from django.db import connections

        connections.close_all()
        base, name = url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(emulator_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.benchmarks.bench_settings"
    os.environ["EMULATOR_URL"] = emulator_url
    os.environ.setdefault("SECRET_KEY", "bench-only-" + uuid.uuid4().hex)
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("STUDIO_VAR_DIR", str(ROOT / "var" / "bench"))
    import logging

    import django

    django.setup()
    # One INFO line per provider exchange would be most of what the live-jobs section prints (and a share of its CPU).
    logging.getLogger("generations.providers.http").setLevel(logging.WARNING)
    logging.getLogger("django_structlog.celery").setLevel(logging.WARNING)  # a line per sweep message sent
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG=0 serves the manifest, as in production
    from billing.metering import DEFAULT_RATES
    from billing.models import RateCard
    from billing.rate_cards import rate_card_publish

    if not RateCard.objects.filter(is_active=True).exists():
        rate_card_publish(rates=DEFAULT_RATES, note="bench")


def world(name: str) -> Any:
    from studio.accounts.models import User
    from studio.projects.models import Project
    from studio.teams.models import Membership, Role, Team

    user = User.objects.create_user(email=f"{name}-{uuid.uuid4().hex[:6]}@bench.test", password=uuid.uuid4().hex)
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    team = Team.objects.create(name=f"{name} team", slug=f"{name}-{uuid.uuid4().hex[:6]}")
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    project = Project.objects.create(team=team, name=f"{name} project", created_by=user)
    return user, team, project


def section(name: str) -> Callable[[Callable[[], dict[str, Any]]], Callable[[], None]]:
    def wrap(fn: Callable[[], dict[str, Any]]) -> Callable[[], None]:
        def run() -> None:
            started = time.monotonic()
            log(f"{name} …")
            try:
                RESULTS["sections"][name] = fn()
            except Exception:
                RESULTS["errors"][name] = traceback.format_exc(limit=8)
                log(f"{name} FAILED:\n{RESULTS['errors'][name]}")
            RESULTS.setdefault("seconds", {})[name] = round(time.monotonic() - started, 1)
            log(f"{name} done in {time.monotonic() - started:.0f} s")

        return run

    return wrap


# ---------------------------------------------------------------------------------------------------------------------
# An in-process worker: the Celery tasks' services on threads (-c 2), and beat's sweep


class InProcessWorker:
    """Runs what services enqueue on ``concurrency`` threads, as a ``-c 2`` Celery worker would (no broker: its
    latency is not what is measured here), and a sweep every ``GENERATIONS_POLL_SWEEP_SECONDS`` as beat would."""

    def __init__(self, concurrency: int = 2) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(concurrency)]
        self.threads.append(threading.Thread(target=self._sweep, daemon=True))
        self.done: dict[str, int] = {}

    def __call__(self, work: Any) -> None:
        if work.countdown:
            timer = threading.Timer(work.countdown, self.queue.put, args=(work,))
            timer.daemon = True
            timer.start()
        else:
            self.queue.put(work)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _work(self) -> None:
        from django.db import connection

        from generations import slots
        from generations.services.finalize import RetryLater, generation_finalize
        from generations.services.poll import generation_poll
        from generations.services.submit import generation_submit

        while not self.stopping.is_set():
            try:
                work = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            kwargs = work.kwargs
            try:
                if work.task == "job_submit":
                    generation_submit(job_id=uuid.UUID(kwargs["job_id"]))
                elif work.task == "job_poll":
                    generation_poll(job_id=uuid.UUID(kwargs["job_id"]), seq=int(kwargs["seq"]))
                elif work.task == "job_finalize":
                    try:
                        generation_finalize(job_id=uuid.UUID(kwargs["job_id"]))
                    except RetryLater as exc:
                        self(type(work)(work.task, work.kwargs, exc.delay))
                elif work.task == "dispatch_queued":
                    slots.dispatch_queued()
            except Exception:
                log(f"worker: {work.task} failed: {traceback.format_exc(limit=3)}")
            self.done[work.task] = self.done.get(work.task, 0) + 1
        connection.close()

    def _sweep(self) -> None:
        from django.db import connection

        from generations.services import config
        from generations.services.poll import poll_sweep

        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                poll_sweep()
            except Exception:
                log(f"sweep failed: {traceback.format_exc(limit=3)}")
            self.stopping.wait(max(0.0, config.poll_sweep_seconds() - (time.monotonic() - started)))
        connection.close()


@contextlib.contextmanager
def in_process_worker() -> Iterator[InProcessWorker]:
    from generations.services.enqueue import use_sink

    worker = InProcessWorker()
    with use_sink(worker):
        worker.start()
        try:
            yield worker
        finally:
            worker.stop()


class WebServer:
    """Our Django app on a socket (threaded WSGI), so the emulator can deliver webhooks to it."""

    def __init__(self) -> None:
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        from django.core.wsgi import get_wsgi_application

        class Threaded(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, get_wsgi_application(), Threaded, Quiet)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()


# ---------------------------------------------------------------------------------------------------------------------
# 1. Status calls per job and provider done → playable, polling only and with webhooks, vs the WaveSpeed SDK


RENDER_QUEUE = 5.0
RENDER_RUN = 25.0 if QUICK else 55.0  # a 60 s job (30 s quick)
JOB_SPACING = 4.0


def _status_calls(job: Any) -> int:
    from generations.models import ProviderAttempt

    return ProviderAttempt.objects.filter(job=job, is_create=False, method="GET").count()


def _run_pipeline_batch(emulator: Emulator, user: Any, project: Any, count: int) -> list[dict[str, float]]:
    from generations.models import GenerationJob
    from generations.providers.base import Mode
    from generations.services.jobs import JobRequest, generation_create
    from generations.states import TERMINAL

    jobs = []
    for i in range(count):
        request = JobRequest(
            mode=Mode.TEXT_TO_VIDEO.value,
            prompt=f"a lighthouse in the fog, take {i}",
            provider="wavespeed",
            resolution="360p",
            duration=5,
            aspect_ratio="16:9",
        )
        jobs.append(generation_create(user=user, project=project, request=request))
        # Staggered, as users submit: done → playable is a job's own latency, not the queue of a dozen finalizes
        # that all became due in the same second (two worker threads take them two at a time).
        time.sleep(JOB_SPACING)
    deadline = time.monotonic() + RENDER_QUEUE + RENDER_RUN + 120
    while time.monotonic() < deadline:
        states = set(GenerationJob.objects.filter(pk__in=[j.pk for j in jobs]).values_list("state", flat=True))
        if states <= TERMINAL:
            break
        time.sleep(0.5)
    rows = []
    for job in jobs:
        job.refresh_from_db()
        if job.state != "succeeded" or job.submitted_at is None or job.finished_at is None:
            rows.append({"state": job.state, "calls": _status_calls(job), "done_to_playable": float("nan")})
            continue
        provider_done = job.submitted_at + timedelta(seconds=RENDER_QUEUE + RENDER_RUN)
        rows.append(
            {
                "state": job.state,
                "calls": _status_calls(job),
                "done_to_playable": (job.finished_at - provider_done).total_seconds(),
            }
        )
    return rows


def _summary(rows: list[dict[str, float]]) -> dict[str, Any]:
    ok = [r for r in rows if r["state"] == "succeeded"]
    lags = [r["done_to_playable"] for r in ok]
    return {
        "jobs": len(rows),
        "succeeded": len(ok),
        "status_calls_per_job_median": statistics.median([r["calls"] for r in ok]) if ok else None,
        "done_to_playable_median_s": round(statistics.median(lags), 2) if lags else None,
        "done_to_playable_max_s": round(max(lags), 2) if lags else None,
    }


def _sdk_runs(emulator: Emulator, count: int) -> dict[str, Any]:
    """The official WaveSpeed SDK's ``run()`` (its default 1 s poll) on the same emulator, counting its result
    queries. The count wraps the SDK's own ``requests.get`` (instrumentation of the reference, not of our code)."""
    import requests
    import wavespeed

    client = wavespeed.Client(api_key="emulator-key", base_url=f"{emulator.url}/wavespeed", max_connection_retries=0)
    calls: list[int] = []
    lags: list[float] = []
    lock = threading.Lock()
    counter = threading.local()
    original = requests.get

    def counting_get(url: Any, *args: Any, **kwargs: Any) -> Any:
        if "/result" in str(url):
            counter.n = getattr(counter, "n", 0) + 1
        return original(url, *args, **kwargs)

    def one(i: int) -> None:
        counter.n = 0
        started = time.time()
        output = client.run(
            "pixverse/pixverse-c1/text-to-video",
            {"prompt": f"a lighthouse, sdk take {i}", "resolution": "360p", "duration": 5},
            timeout=RENDER_QUEUE + RENDER_RUN + 120,
        )
        seen = time.time()
        if output.get("outputs"):
            with lock:
                calls.append(counter.n)
                lags.append(seen - (started + RENDER_QUEUE + RENDER_RUN))

    requests.get = counting_get  # type: ignore[assignment]
    try:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        requests.get = original  # type: ignore[assignment]
    return {
        "jobs": count,
        "status_calls_per_job_median": statistics.median(calls) if calls else None,
        "done_to_result_median_s": round(statistics.median(lags), 2) if lags else None,
    }


@section("poll_latency")
def bench_poll_latency() -> dict[str, Any]:
    from django.conf import settings

    from billing import ledger
    from billing.wallets import personal_wallet
    from generations.services.poll import forget_history

    emulator = Emulator(queue_seconds=RENDER_QUEUE, run_seconds=RENDER_RUN, prerender_lead=RENDER_RUN / 2)
    web = WebServer()
    try:
        settings.EMULATOR_URL = emulator.url
        providers = {name: dict(conf) for name, conf in settings.PROVIDERS.items()}
        prefixes = {"wavespeed": "/wavespeed/api/v3", "pixverse": "/pixverse/openapi/v2"}
        for name, prefix in prefixes.items():
            providers[name].update(BASE_URL=emulator.url + prefix, ENABLED=True, CONCURRENCY=1000)
        providers["wavespeed"]["API_KEY"] = "emulator-key"
        settings.PROVIDERS = providers
        settings.SSRF_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
        settings.PUBLIC_BASE_URL = web.url
        emulator.control("POST", "config", json={"concurrency": {"wavespeed": None}})
        user, _team, project = world("latency")
        ledger.grant(wallet=personal_wallet(user=user), amount=10_000_000, reason="bench", created_by=None)
        count = 4 if QUICK else 8
        forget_history()
        results: dict[str, Any] = {"render_seconds": RENDER_QUEUE + RENDER_RUN, "job_spacing_s": JOB_SPACING}
        with in_process_worker():
            log("  warm-up batch (builds the history the schedule learns from), polling only")
            providers["wavespeed"]["WEBHOOK_SECRET"] = ""
            results["first_jobs_no_history"] = _summary(_run_pipeline_batch(emulator, user, project, count))
            forget_history()
            log("  second batch (learns from the first, whose samples the backoff saw late)")
            results["second_batch_learning"] = _summary(_run_pipeline_batch(emulator, user, project, count))
            forget_history()
            log("  polling only")
            results["polling_only"] = _summary(_run_pipeline_batch(emulator, user, project, count))
            log("  with webhooks")
            providers["wavespeed"]["WEBHOOK_SECRET"] = emulator.wavespeed_webhook_secret
            forget_history()
            results["with_webhooks"] = _summary(_run_pipeline_batch(emulator, user, project, count))
            # Only deliveries we accepted (2xx) prompted anything: a refused signature would measure polling instead.
            sent = emulator.control("GET", "webhooks")["webhooks"]
            accepted = sum(1 for hook in sent if hook["status_code"] is not None and 200 <= hook["status_code"] < 300)
            results["with_webhooks"].update(webhooks_sent=len(sent), webhooks_accepted=accepted)
            if accepted < count:
                raise RuntimeError(f"only {accepted} of {len(sent)} webhooks were accepted: {sent[:1]}")
        log("  the official WaveSpeed SDK run() on the same emulator")
        results["sdk_run"] = _sdk_runs(emulator, 4 if QUICK else 6)
        ours = results["polling_only"]["status_calls_per_job_median"]
        sdk = results["sdk_run"]["status_calls_per_job_median"]
        results["calls_ratio_to_sdk"] = round(ours / sdk, 3) if ours is not None and sdk else None
        return results
    finally:
        web.stop()
        emulator.stop()


# ---------------------------------------------------------------------------------------------------------------------
# 2. Live jobs one poll worker (`celery worker -Q poll,sweep -c 2`) tracks (p50/p99 poll lateness)


def _emulator_jobs(emulator: Emulator, count: int) -> list[str]:
    """``count`` real WaveSpeed jobs at the emulator that stay running (created over HTTP, 8 at a time)."""
    import httpx

    ids: list[str] = []
    lock = threading.Lock()
    url = f"{emulator.url}/wavespeed/api/v3/pixverse/pixverse-c1/text-to-video"

    def create(chunk: range) -> None:
        with httpx.Client(timeout=30, headers={"Authorization": "Bearer emulator-key"}) as client:
            for i in chunk:
                answer = client.post(url, json={"prompt": f"live job {i}", "duration": 5, "resolution": "360p"})
                answer.raise_for_status()
                with lock:
                    ids.append(answer.json()["data"]["id"])

    step = math.ceil(count / 8)
    threads = [threading.Thread(target=create, args=(range(i, min(count, i + step)),)) for i in range(0, count, step)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ids


def _emulator_capacity(emulator: Emulator, ids: list[str], *, seconds: float) -> float:
    """Reference: status calls/s the emulator answers to 16 bare httpx threads (no database, no pipeline)."""
    import httpx

    done = [0] * 16
    end = time.monotonic() + seconds

    def hammer(t: int) -> None:
        with httpx.Client(timeout=30, headers={"Authorization": "Bearer emulator-key"}) as client:
            i = t
            while time.monotonic() < end:
                client.get(f"{emulator.url}/wavespeed/api/v3/predictions/{ids[i % len(ids)]}/result")
                done[t] += 1
                i += 16

    threads = [threading.Thread(target=hammer, args=(t,)) for t in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return round(sum(done) / seconds, 1)


def celery_worker_command(app: str, *extra: str) -> list[str]:
    """``celery -A <app> worker -c 2`` as `make run` and compose run it, plus ``extra`` (queues, name, beat), with the
    cluster chatter (gossip, mingle, heartbeat) off. The soak's workers and the live-jobs poller both start this."""
    return [
        sys.executable, "-m", "celery", "-A", app, "worker", *extra, "-c", "2", "-l", "WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip


class Poller:
    """A real poll worker, as production runs it: `celery worker -Q poll,sweep -c 2` (prefork: two processes that
    share each batch claim through ``SKIP LOCKED``), its broker a private redis-server. ``tick()`` sends the sweep
    message beat sends every ``GENERATIONS_POLL_SWEEP_SECONDS``, with beat's options. The worker's app is
    tests/benchmarks/poller.py: the studio's own, plus one line per sweep in ``log_dir`` (start, end, polled, each
    claimed job's lateness)."""

    def __init__(self, *, redis_url: str, emulator_url: str, interval: float, workdir: Path) -> None:
        from celery import Celery

        self.log_dir = Path(tempfile.mkdtemp(prefix="sweeps-", dir=workdir))
        self.env = {
            **os.environ,
            "CELERY_BROKER_URL": redis_url,
            "REDIS_URL": redis_url,
            "EMULATOR_URL": emulator_url,
            "GENERATIONS_POLL_BASE_SECONDS": str(interval),
            "GENERATIONS_POLL_MAX_SECONDS": str(interval),
            "LOG_LEVEL": "WARNING",
            "BENCH_SWEEP_LOG": str(self.log_dir),
        }
        self.sender = Celery("bench-beat", broker=redis_url)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = workdir / "poller.log"

    def start(self, timeout: float = 60.0) -> None:
        command = celery_worker_command(
            "tests.benchmarks.poller", "-Q", "poll,sweep", "-n", f"poller-{uuid.uuid4().hex[:6]}@%h"
        )
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not (self.log_dir / "ready").exists() or len(self.children()) < 2:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the poll worker did not start; see {self.log_file}")
            time.sleep(0.1)

    def children(self) -> list[int]:
        return [int(p.name.split("-", 1)[1]) for p in self.log_dir.glob("child-*")]

    def cpu_seconds(self) -> float:
        """CPU seconds the worker's processes (the main one and its prefork children) have used so far."""
        total = 0.0
        assert self.process is not None
        for pid in [self.process.pid, *self.children()]:
            with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        return total

    def tick(self) -> None:
        from django.conf import settings

        entry = settings.CELERY_BEAT_SCHEDULE["poll-sweep"]
        self.sender.send_task(entry["task"], queue="sweep", **entry["options"])

    def stop(self) -> list[dict[str, Any]]:
        """Warm shutdown (running sweeps finish, as on a deploy); returns every sweep's record."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            self.process = None
        self.sender.close()
        records = []
        for path in self.log_dir.glob("*.jsonl"):
            records += [json.loads(line) for line in path.read_text().splitlines()]
        return records


@section("live_jobs")
def bench_live_jobs() -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from generations.models import GenerationJob

    if shutil.which("redis-server") is None:
        raise RuntimeError("the live-jobs section runs a real poll worker; its broker needs a redis-server binary")
    sizes = [200, 1000] if QUICK else [2000, 10000, 20000]
    window = 12.0 if QUICK else 30.0
    interval = 30.0  # every job is polled every 30 s (the backoff's cap): N/30 polls/s are needed
    tick = settings.GENERATIONS_POLL_SWEEP_SECONDS
    workdir = Path(tempfile.mkdtemp(prefix="bench-live-"))
    emulator = Emulator(queue_seconds=100_000, run_seconds=100_000)
    redis = PrivateRedis(workdir)
    redis.start()
    try:
        emulator.control("POST", "config", json={"concurrency": {"wavespeed": None}})
        distinct = min(sizes[-1], 2000)
        log(f"  creating {distinct} jobs at the emulator (shared round-robin by the live jobs: every poll is real)")
        provider_ids = _emulator_jobs(emulator, distinct)
        user, team, project = world("live")
        results: dict[str, Any] = {
            "poll_interval_s": interval,
            "window_s": window,
            "worker": "celery worker -Q poll,sweep -c 2 (prefork), broker redis",
            "sizes": {},
        }
        results["reference_emulator_alone_polls_per_s"] = _emulator_capacity(emulator, provider_ids, seconds=5.0)
        log(f"  the emulator alone answers {results['reference_emulator_alone_polls_per_s']} polls/s")
        for size in sizes:
            GenerationJob.objects.filter(project=project).delete()
            now = timezone.now()
            rows = [
                GenerationJob(
                    project=project,
                    team=team,
                    creator=user,
                    mode="t2v",
                    provider="wavespeed",
                    provider_job_id=provider_ids[i % len(provider_ids)],
                    state="running",
                    submitted_at=now,
                    poll_count=8,  # past the backoff's ramp: the steady state
                    next_poll_at=now + timedelta(seconds=interval * i / size),
                )
                for i in range(size)
            ]
            GenerationJob.objects.bulk_create(rows, batch_size=2000)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE generations_generationjob")
            poller = Poller(redis_url=f"redis://127.0.0.1:{redis.port}/0", emulator_url=emulator.url,
                            interval=interval, workdir=workdir)  # fmt: skip
            try:
                poller.start()
                # The due times start when the measurement does: inserting 20,000 rows and starting the worker take
                # seconds, and a schedule that began before that would count the set-up as every poll's lateness
                # (a backlog a worker running at exactly the needed rate never catches up).
                GenerationJob.objects.filter(project=project).update(
                    next_poll_at=F("next_poll_at") + (timezone.now() - now)
                )
                cpu_before = poller.cpu_seconds()
                started_wall, started = time.time(), time.monotonic()
                while time.monotonic() - started < window:
                    poller.tick()
                    time.sleep(max(0.0, tick - (time.monotonic() - started) % tick))
                cpu = poller.cpu_seconds() - cpu_before
                window_elapsed = time.monotonic() - started
            finally:
                records = poller.stop()  # the sweeps running at the window's end finish (each within its budget)
            # Every record is this worker's, from its start: none ran before the first tick.
            elapsed = max([window_elapsed] + [r["end"] - started_wall for r in records])
            lateness = [late for r in records for late in r["lateness"]]
            polled = sum(r["polled"] for r in records)
            results["sizes"][str(size)] = {
                "polls_per_s_needed": round(size / interval, 1),
                "polls_per_s_done": round(polled / elapsed, 1),
                "lateness_p50_s": round(percentile(lateness, 50), 3),
                "lateness_p99_s": round(percentile(lateness, 99), 3),
                "sweeps": len(records),
                "worker_cpu_share_of_one_core": round(cpu / window_elapsed, 2),
            }
            log(f"  {size}: {results['sizes'][str(size)]}")
        return results
    finally:
        GenerationJob.objects.filter(provider="wavespeed", state="running").delete()  # nobody polls them after this
        emulator.stop()
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------------
# 3. Holds/s on PostgreSQL at 1/4/16 threads: personal wallet, team pool fresh and after 100k holds, minimal SQL hold


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (every core, every process: this one's threads and
    PostgreSQL's backends), from /proc/stat; NaN where there is none."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def _hold_rate(threads: int, seconds: float, one: Callable[[int, int], None]) -> tuple[float, float]:
    """(holds/s, machine CPU ms per hold) of ``threads`` threads calling ``one`` for ``seconds``."""
    from django.db import connections

    counts = [0] * threads
    errors: list[str] = []
    stop = threading.Event()
    barrier = threading.Barrier(threads + 1)

    def loop(t: int) -> None:
        barrier.wait()
        i = 0
        try:
            while not stop.is_set():
                one(t, i)
                i += 1
                counts[t] += 1
        except Exception:
            errors.append(traceback.format_exc(limit=4))
        finally:
            connections.close_all()

    pool = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started, busy = time.monotonic(), _busy_cpu_seconds()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])
    done = max(1, sum(counts))
    return round(done / (time.monotonic() - started), 1), round((_busy_cpu_seconds() - busy) / done * 1000, 2)


@section("holds")
def bench_holds() -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from billing import ledger
    from billing.models import Hold, HoldState, MonthlySpend
    from billing.reconcile import spend_sums
    from billing.wallets import month_start, personal_wallet, team_billing_update, team_wallet
    from studio.teams.models import Membership

    seconds = 5.0 if QUICK else 15.0  # per point, over its HOLD_ROUNDS rounds
    prefill = 5000 if QUICK else 100_000
    run = uuid.uuid4().hex[:8]

    def wallet_for(kind: str) -> tuple[Any, Any, Any]:
        user, team, _project = world(f"holds-{kind}")
        if kind == "personal":
            wallet, hold_team = personal_wallet(user=user), None
        else:
            team_billing_update(team=team, use_pool=True, monthly_budget=10**15)
            from billing.wallets import member_cap_set

            member_cap_set(membership=Membership.objects.get(team=team, user=user), monthly_cap=10**15)
            wallet, hold_team = team_wallet(team=team), team
        ledger.grant(wallet=wallet, amount=10**12, reason="bench", created_by=None)
        return user, wallet, hold_team

    subjects = {kind: wallet_for(kind) for kind in ("personal", "pool_fresh", "pool_after_100k")}
    user, wallet, _ = subjects["pool_after_100k"]
    log(f"  pre-filling {prefill} captured holds this month in one team pool")
    now = timezone.now()
    Hold.objects.bulk_create(
        (
            Hold(
                wallet=wallet,
                user=user,
                team=wallet.team,
                key=f"prefill-{run}-{i}",
                amount=50,
                state=HoldState.CAPTURED,
                captured_amount=50,
                created_at=max(month_start(now), now - timedelta(seconds=i)),
            )
            for i in range(prefill)
        ),
        batch_size=5000,
    )
    # The counters a real month of holds would have left (the same sums reconcile_ledger checks).
    for (wallet_id, month, user_id), spent in spend_sums().items():
        if wallet_id == wallet.pk:
            MonthlySpend.objects.update_or_create(
                wallet_id=wallet_id, month=month, user_id=user_id, defaults={"spent": spent}
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE billing_hold")

    def ledger_hold(kind: str) -> Callable[[int, int], None]:
        user, wallet, team = subjects[kind]

        def one(t: int, i: int) -> None:
            ledger.hold(
                wallet=wallet, amount=10, key=f"{kind}-{run}-{t}-{i}-{time.monotonic_ns()}", user=user, team=team
            )

        return one

    ref_user, ref_wallet, _ = wallet_for("personal")
    table_w, table_h = "billing_wallet", "billing_hold"

    def minimal_sql_hold(t: int, i: int) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
            cursor.execute(f"SELECT balance FROM {table_w} WHERE id = %s{lock}", [ref_wallet.pk])  # noqa: S608
            cursor.execute(
                f"UPDATE {table_w} SET balance = balance - 10 WHERE id = %s AND balance >= 10",  # noqa: S608
                [ref_wallet.pk],
            )
            cursor.execute(
                f"INSERT INTO {table_h} (wallet_id, user_id, key, reference, description, amount, state, "  # noqa: S608
                "captured_amount, resolution, provider, created_at) "
                "VALUES (%s, %s, %s, '', '', 10, 'open', 0, '', '', %s)",
                [ref_wallet.pk, ref_user.pk, f"min-{run}-{t}-{i}-{time.monotonic_ns()}", timezone.now()],
            )

    results: dict[str, Any] = {
        "seconds_per_point": seconds,
        "rounds": HOLD_ROUNDS,
        "prefilled_holds": prefill,
        "holds_per_s": {},
    }
    kinds = (
        ("minimal_sql_hold", minimal_sql_hold),
        ("personal", ledger_hold("personal")),
        ("pool_fresh", ledger_hold("pool_fresh")),
        ("pool_after_100k", ledger_hold("pool_after_100k")),
    )
    for threads in (1, 4, 16):
        # Interleaved rounds (every kind once per round; every other round in reverse order, so that neither of a
        # compared pair always runs first), each kind's median round reported (as for the pages). Each ratio is the
        # median of the rounds' ratios: the two holds of a pair are measured seconds apart, so a change in the
        # machine's speed between rounds (this one's moves by a third) cancels out of it.
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name, _ in kinds}
        for i in range(HOLD_ROUNDS):
            for name, one in kinds if i % 2 == 0 else kinds[::-1]:
                rate, cpu = _hold_rate(threads, seconds / HOLD_ROUNDS, one)
                rounds[name].append({"rate": rate, "cpu": cpu})
        point: dict[str, Any] = {}
        for name, _ in kinds:
            middle = median_round(rounds[name], "rate")
            point[name], point[f"{name}_cpu_ms_per_hold"] = middle["rate"], middle["cpu"]
        for key, (name, reference) in {
            "personal_ratio_to_minimal": ("personal", "minimal_sql_hold"),
            "pool_full_ratio_to_fresh": ("pool_after_100k", "pool_fresh"),
        }.items():
            ratios = [a["rate"] / b["rate"] for a, b in zip(rounds[name], rounds[reference], strict=True)]
            point[key] = round(statistics.median(ratios), 3)
            point[f"{key}_rounds"] = [round(r, 3) for r in ratios]
        results["holds_per_s"][str(threads)] = point
        log(f"  {threads} threads: {point}")
    return results


# ---------------------------------------------------------------------------------------------------------------------
# 4. Library and asset pages at 10,000 rows under gunicorn, vs a one-query template view


LOADGEN = r"""
import sys, time, threading, json, httpx
url, cookie, seconds, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
lat, errors = [], [0]
lock = threading.Lock()
def run():
    with httpx.Client(cookies={"sessionid": cookie}, timeout=30) as c:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t = time.monotonic()
            try:
                ok = c.get(url).status_code == 200
            except httpx.HTTPError:
                ok = False
            with lock:
                (lat.append(time.monotonic() - t) if ok else None)
                errors[0] += 0 if ok else 1
ts = [threading.Thread(target=run) for _ in range(threads)]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps({"latencies": lat, "errors": errors[0]}))
"""


WRK_SCRIPT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "errors": %d, "p95_us": %d, "duration_us": %d}\n', summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status, latency:percentile(95), summary.duration))
end
"""


def load_generator() -> str:
    """wrk (C, Debian's package ``wrk``) when it is installed, as the issue asks: it leaves the CPU of this 2-core
    machine to the server under test. Without it (or with ``BENCH_LOADGEN=python``), two Python processes with
    httpx, which take a share of that CPU for every request and so narrow every ratio towards 1: the committed runs
    before 2026-12-06 used them."""
    if os.environ.get("BENCH_LOADGEN", "") != "python" and shutil.which("wrk"):
        return "wrk"
    return "python-httpx"


def _load(url: str, cookie: str, seconds: float) -> dict[str, Any]:
    """Two load-generator threads (wrk) or processes (Python) × 4 keep-alive connections each, for ``seconds``."""
    if load_generator() == "wrk":
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT)
        try:
            out = subprocess.run(
                ["wrk", "-t2", "-c8", f"-d{max(1, round(seconds))}s", "-s", script.name,
                 "-H", f"Cookie: sessionid={cookie}", url],
                capture_output=True, text=True, timeout=seconds + 120, check=True,
            ).stdout  # fmt: skip
        finally:
            os.unlink(script.name)
        data = json.loads(out.strip().splitlines()[-1])
        return {
            "req_per_s": round(data["requests"] / (data["duration_us"] / 1e6), 1),
            "p95_ms": round(data["p95_us"] / 1000, 1),
            "errors": data["errors"],
        }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOADGEN, url, cookie, str(seconds), "4"], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    latencies: list[float] = []
    errors = 0
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 120)
        data = json.loads(out)
        latencies += data["latencies"]
        errors += data["errors"]
    return {
        "req_per_s": round(len(latencies) / seconds, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "errors": errors,
    }


@section("pages")
def bench_pages() -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from generations.models import GenerationJob
    from studio.assets.models import Asset
    from studio.projects.models import Project

    rows = 1000 if QUICK else 10_000
    rounds = PAGE_ROUNDS
    seconds = 6.0 if QUICK else 42.0  # per page, over its rounds (6 s each)
    user, team, big = world("pages")
    small = Project.objects.create(team=team, name="twelve videos", created_by=user)
    now = timezone.now()

    def jobs(project: Any, count: int) -> list[Any]:
        return [
            GenerationJob(
                project=project,
                team=team,
                creator=user,
                mode="t2v",
                provider="wavespeed",
                prompt=f"a video number {i}",
                state="succeeded",
                created_at=now - timedelta(seconds=i),
                finished_at=now - timedelta(seconds=i),
            )
            for i in range(count)
        ]

    GenerationJob.objects.bulk_create(jobs(big, rows) + jobs(small, 12), batch_size=5000)
    Asset.objects.bulk_create(
        (
            Asset(
                team=team,
                name=f"Asset {i}",
                ref_name=f"a{i}",
                file=f"assets/bench/{i}.png",
                format="PNG",
                width=640,
                height=360,
                size_bytes=1000,
                sha256=f"{i:064d}",
                uploaded_by=user,
                created_at=now - timedelta(seconds=i),
            )
            for i in range(rows)
        ),
        batch_size=5000,
    )
    if connection.vendor == "postgresql":
        # VACUUM too: the earlier sections leave tens of thousands of dead job rows, which autovacuum would otherwise
        # clean up while the pages are measured, slowing some rounds more than others.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    urls = {
        "reference_one_query_view": "/bench/reference/",
        "project_page_10k_videos": f"/projects/{big.pk}/",
        "project_page_12_videos": f"/projects/{small.pk}/",
        "asset_page_10k_assets": "/assets/",
        "healthz": "/healthz",
    }
    queries = {}
    for name, path in urls.items():
        client.get(path)  # a first request fills the caches the page reads (the bell's count, the team's lists)
        with CaptureQueriesContext(connection) as captured:
            status = client.get(path).status_code
        queries[name] = {"status": status, "queries": len(captured)}
    if shutil.which("redis-server") is None:
        raise RuntimeError("the pages section serves with a Redis cache, as production does: it needs redis-server")
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    redis = PrivateRedis(workdir)
    redis.start()
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.benchmarks.bench_settings",
        "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",  # the cache, as in production (not the broker)
    }
    # The request log is written as in production (every page alike), into a file rather than the bench's output:
    # two lines a request came to about 37,000 lines there.
    fd, log_name = tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")
    server_log = Path(log_name)
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "studio.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=fd,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    os.close(fd)  # the server has its own copy
    try:
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
        except RuntimeError:
            log(server_log.read_text(errors="replace")[-4000:])
            raise
        results: dict[str, Any] = {
            "rows": rows,
            "seconds_per_url": seconds,
            "rounds": rounds,
            "gunicorn_workers": 3,
            "cache": "redis",
            "load_generator": load_generator(),
            "urls": {},
        }
        # Interleaved rounds (every page once per round), each page's median round reported: a shared machine's
        # slow seconds fall on every page alike instead of on whichever page was being measured.
        measured: dict[str, list[dict[str, Any]]] = {name: [] for name in urls}
        for _ in range(rounds):
            for name, path in urls.items():
                measured[name].append(_load(f"http://127.0.0.1:{port}{path}", cookie, seconds / rounds))
        for name in urls:
            results["urls"][name] = {**median_round(measured[name], "req_per_s"), **queries[name]}
            log(f"  {name}: {results['urls'][name]}")

        def ratio(page: str, reference: str) -> dict[str, Any]:
            """The page's req/s over the reference's, round by round (the two measured a few seconds apart, so a
            slow spell of this shared machine falls on both): the median round's ratio, and every round's."""
            each = [
                mine["req_per_s"] / (theirs["req_per_s"] or float("nan"))
                for mine, theirs in zip(measured[page], measured[reference], strict=True)
            ]
            return {"median": round(statistics.median(each), 3), "rounds": [round(r, 3) for r in each]}

        ratios = {
            "project_10k_ratio_to_12": ratio("project_page_10k_videos", "project_page_12_videos"),
            "project_10k_ratio_to_reference": ratio("project_page_10k_videos", "reference_one_query_view"),
            "assets_10k_ratio_to_reference": ratio("asset_page_10k_assets", "reference_one_query_view"),
        }
        for key, value in ratios.items():
            results[key] = value["median"]
            results[f"{key}_rounds"] = value["rounds"]
            log(f"  {key}: {value['median']} (rounds {value['rounds']})")
        return results
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)
        server_log.unlink(missing_ok=True)
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------------
# 5. Upload inspection: real RSS (VmHWM) on a photographic image;  6. finalize of a >= 400 MB output: worker RSS


RSS_PROBE = r"""
import os, sys, json
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.bench_settings")
import django; django.setup()
from PIL import Image
from studio.assets.validation import inspect_image
path, what = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    head = f.read(1)
before = hwm()
if what == "inspect":
    with open(path, "rb") as f:
        inspect_image(f, filename=os.path.basename(path))
else:
    with Image.open(path) as im:
        im.load()
print(json.dumps({"before": before, "after": hwm()}))
"""


def photographic_jpeg(path: Path, width: int, height: int) -> None:
    """A photograph-like image: smooth gradients plus fine noise (as incompressible as real camera detail)."""
    from PIL import Image, ImageFilter

    noise = Image.effect_noise((width, height), 64).convert("RGB")
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    image = Image.blend(gradient, noise, 0.5).filter(ImageFilter.SMOOTH)
    image.save(path, format="JPEG", quality=92)


@section("upload_inspection_rss")
def bench_upload_rss() -> dict[str, Any]:
    width, height = (3000, 2000) if QUICK else (6000, 4000)
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "photo.jpg"
        photographic_jpeg(image, width, height)
        results: dict[str, Any] = {"image": f"{width}x{height} JPEG, {image.stat().st_size} bytes"}
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.benchmarks.bench_settings"}
        for what in ("inspect", "full_decode_reference"):
            out = subprocess.run(
                [sys.executable, "-c", RSS_PROBE, str(image), what],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-2000:])
            data = json.loads(out.stdout.strip().splitlines()[-1])
            results[what] = {"peak_rss_growth_mb": round((data["after"] - data["before"]) / 2**20, 1)}
        return results


FINALIZE_PROBE = r"""
import os, sys, json, uuid
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.bench_settings")
import django; django.setup()
from django.conf import settings
settings.SSRF_ALLOWED_HOSTS = ["127.0.0.1"]
from generations.services.finalize import generation_finalize
from generations.models import GenerationJob
job_id = uuid.UUID(sys.argv[1])
GenerationJob.objects.get(pk=job_id)
before = rss("VmHWM:")
generation_finalize(job_id=job_id)
job = GenerationJob.objects.get(pk=job_id)
print(json.dumps({"before": before, "after": rss("VmHWM:"), "state": job.state, "size": job.output_size,
                  "error": job.error_message}))
"""


def big_mp4(path: Path, target_bytes: int) -> None:
    """A valid H.264 MP4 of about ``target_bytes``: random 1080p frames encoded losslessly (x264 ultrafast, qp 0),
    so every frame stays ~3 MB."""
    import av
    from PIL import Image

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"preset": "ultrafast", "qp": "0"}
        frames = written = 0
        while written < target_bytes or frames < 24:
            image = Image.frombytes("RGB", (1920, 1080), os.urandom(1920 * 1080 * 3))
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                written += packet.size
                container.mux(packet)
            frames += 1
        for packet in stream.encode():
            container.mux(packet)


@section("finalize_rss")
def bench_finalize_rss() -> dict[str, Any]:
    import http.server
    import socketserver

    from django.utils import timezone

    from generations.models import GenerationJob

    target = (40 if QUICK else 420) * 2**20
    tmp = Path(tempfile.mkdtemp())
    try:
        video = tmp / "big.mp4"
        big_mp4(video, target)
        size = video.stat().st_size
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp), **k)  # noqa: E731

        class Quiet(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None  # type: ignore[method-assign]
        port = free_port()
        server = Quiet(("127.0.0.1", port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        user, team, project = world("finalize")
        job = GenerationJob.objects.create(
            project=project,
            team=team,
            creator=user,
            mode="t2v",
            provider="wavespeed",
            state="downloading",
            provider_output_url=f"http://127.0.0.1:{port}/big.mp4",
            submitted_at=timezone.now(),
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.benchmarks.bench_settings",
            "OUTPUT_MAX_BYTES": str(2**31),
        }
        out = subprocess.run(
            [sys.executable, "-c", FINALIZE_PROBE, str(job.pk)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        server.shutdown()
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        data = json.loads(out.stdout.strip().splitlines()[-1])
        return {
            "output_bytes": size,
            "job_state_after": data["state"],
            "error": data["error"],
            "worker_peak_rss_growth_mb": round((data["after"] - data["before"]) / 2**20, 1),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------------
# Report


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load],
        "database": RESULTS.get("database"),
        "quick": QUICK,
    }


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def write_report() -> None:
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "benchmarks.json").write_text(json.dumps(RESULTS, indent=2, default=str) + "\n")
    s = RESULTS["sections"]
    lines = [
        "# Benchmarks (`make bench`)",
        "",
        "Written by `tests/benchmarks/realpaths.py`; the raw figures are in [benchmarks.json](benchmarks.json).",
        "",
        "## Method",
        "",
        "Every figure is taken side by side with a reference **in the same run**, and the goals are judged on the",
        "ratios: this machine is shared, so absolute numbers move with its load. PostgreSQL (a fresh `_bench`",
        "database), the emulator as a real HTTP server in its own process, gunicorn with 3 workers for the pages.",
        "The pipeline sections (done → playable) run in one process: the services the Celery tasks call, on two",
        "worker threads (as `-c 2`) plus beat's sweep every second; no broker latency is included. The live-jobs",
        "section runs a real Celery poll worker instead (see there). Memory is real RSS (`VmHWM` of a fresh",
        "process), not tracemalloc.",
        "",
        "The load average at the start is recorded below: figures taken while other work ran on this 2-core",
        "machine are lower in absolute terms; read the ratios.",
        "",
        "## Machine",
        "",
        "```",
        json.dumps(RESULTS["machine"], indent=2),
        "```",
        "",
    ]
    if "poll_latency" in s:
        p = s["poll_latency"]
        lines += [
            f"## Status calls per job and provider done → playable ({fmt(p['render_seconds'])} s jobs)",
            "",
            "| path | jobs | status calls / job (median) | done → playable median | max |",
            "|---|---|---|---|---|",
        ]
        for key, label in (  # a section from an older run may lack a row
            ("first_jobs_no_history", "polling, first jobs (no history yet)"),
            ("second_batch_learning", "polling, second batch (history from the first)"),
            ("polling_only", "polling only (history learned)"),
            ("with_webhooks", "webhooks delivered"),
        ):
            r = p.get(key)
            if r is None:
                continue
            lines.append(
                f"| {label} | {r['succeeded']}/{r['jobs']} | {fmt(r['status_calls_per_job_median'])} | "
                f"{fmt(r['done_to_playable_median_s'])} s | {fmt(r['done_to_playable_max_s'])} s |"
            )
        sdk = p["sdk_run"]
        lines += [
            f"| **reference**: WaveSpeed SDK `run()` | {sdk['jobs']} | {fmt(sdk['status_calls_per_job_median'])} | "
            f"{fmt(sdk['done_to_result_median_s'])} s (result only, nothing stored) | |",
            "",
            f'Status calls ratio to the SDK: **{fmt(p["calls_ratio_to_sdk"])}** (goal ≤ 0.10). "Playable" means '
            "downloaded into our storage, checked with PyAV and given a poster. Jobs are submitted "
            f"{fmt(p.get('job_spacing_s'))} s apart; each batch learns from the ones before it (the first has no "
            "history yet). The emulator has each output ready when it reports the job completed (as a real "
            "provider's CDN does), so its own render time is not counted as ours.",
            "",
        ]
        hooks = p.get("with_webhooks", {})
        if "webhooks_accepted" in hooks:
            lines += [
                f"Webhooks: {hooks['webhooks_accepted']} accepted of {hooks['webhooks_sent']} sent by the emulator "
                "(signature verified; each prompted one fetch).",
                "",
            ]
    if "live_jobs" in s:
        p = s["live_jobs"]
        lines += [
            f"## Live jobs one poll worker (`-c 2`) tracks (each polled every {fmt(p['poll_interval_s'])} s, "
            f"{fmt(p['window_s'])} s window)",
            "",
            "| live jobs | polls/s needed | polls/s done | lateness p50 | p99 | worker CPU (cores) |",
            "|---|---|---|---|---|---|",
        ]
        for size, r in p["sizes"].items():
            lines.append(
                f"| {int(size):,} | {fmt(r['polls_per_s_needed'])} | {fmt(r['polls_per_s_done'])} | "
                f"{fmt(r['lateness_p50_s'])} s | {fmt(r['lateness_p99_s'])} s | "
                f"{fmt(r['worker_cpu_share_of_one_core'])} |"
            )
        lines += [
            "",
            "Reference in the same run: the emulator alone answers "
            f"**{fmt(p.get('reference_emulator_alone_polls_per_s'))}** status calls/s to 16 bare httpx threads",
            "(no database, no pipeline).",
            "",
            "The poller is a real `celery worker -Q poll,sweep -c 2` (prefork: two processes, which share each",
            "batch claim through `SKIP LOCKED`), as production runs it, on a private redis-server; the bench sends",
            "the sweep message every second with beat's options, as beat does. Each sweep is pipelined (the next",
            "batch is claimed while the last one's calls are in flight) and runs while jobs are due, for at most its",
            "budget (10 s). Lateness is claim time minus due time of every poll of the window's sweeps (so at a few",
            "polls/s it is about half the beat tick); worker CPU is the worker's processes' CPU time over the window.",
            "Each live job is a database row polled over HTTP for real; they share up to 2,000 emulator jobs",
            "(round-robin) to keep the set-up short. The due times start when the measurement does (not before the",
            "rows were inserted and the worker started). The reference is the need itself: polls/s done should equal",
            "polls/s needed.",
            "",
        ]
    if "holds" in s:
        p = s["holds"]
        lines += [
            f"## Credit holds/s ({fmt(p['seconds_per_point'])} s per point in {p.get('rounds', 1)} interleaved rounds, "
            "the median round shown; each ratio is the median of the rounds' paired ratios; the full pool has "
            f"{p['prefilled_holds']:,} holds this month)",
            "",
            "| threads | minimal SQL hold (reference) | personal | ratio | team pool fresh | pool after 100k | "
            "full/fresh |",
            "|---|---|---|---|---|---|---|",
        ]
        for threads, r in p["holds_per_s"].items():
            lines.append(
                f"| {threads} | {fmt(r['minimal_sql_hold'])} | {fmt(r['personal'])} | "
                f"{fmt(r['personal_ratio_to_minimal'])} | {fmt(r['pool_fresh'])} | {fmt(r['pool_after_100k'])} | "
                f"{fmt(r['pool_full_ratio_to_fresh'])} |"
            )
        paired = [
            f"{threads} thread{'' if threads == '1' else 's'}: personal/minimal "
            f"{', '.join(fmt(x) for x in r['personal_ratio_to_minimal_rounds'])}; "
            f"full/fresh {', '.join(fmt(x) for x in r['pool_full_ratio_to_fresh_rounds'])}"
            for threads, r in p["holds_per_s"].items()
            if "personal_ratio_to_minimal_rounds" in r
        ]
        if paired:
            lines += ["", "Each round's ratios:", "", *(f"- {line}" for line in paired)]
        lines += [
            "",
            "Machine CPU per hold (every core: the bench's threads and PostgreSQL's backends), ms:",
            "",
            "| threads | minimal SQL hold | personal | team pool fresh | pool after 100k |",
            "|---|---|---|---|---|",
        ]
        for threads, r in p["holds_per_s"].items():
            lines.append(
                f"| {threads} | {fmt(r.get('minimal_sql_hold_cpu_ms_per_hold'))} | "
                f"{fmt(r.get('personal_cpu_ms_per_hold'))} | {fmt(r.get('pool_fresh_cpu_ms_per_hold'))} | "
                f"{fmt(r.get('pool_after_100k_cpu_ms_per_hold'))} |"
            )
        lines += [
            "",
            "All holds on one wallet queue for its row lock, which PostgreSQL keeps until the commit's WAL flush. A",
            "hold keeps it for one statement (the conditional update with the month counters,",
            "`spending.SPENDABLE_SQL`) and the commit; the minimal reference keeps it for a locked read, an update, an",
            "insert and the commit.",
            "The hold writes four rows (the hold, its ledger transaction and two entries) where the reference writes",
            "one, so on a machine whose two cores are the limit the CPU per hold decides the rate; the reference",
            "shows what this machine's PostgreSQL and fsync allow. Every thread is in this one Python process, and",
            "CPU per hold grows from 4 threads to 16 for the reference as for the hold.",
            "",
        ]
    if "pages" in s:
        p = s["pages"]
        lines += [
            f"## Pages under gunicorn ({p['gunicorn_workers']} workers), {p['rows']:,} rows, "
            f"{fmt(p['seconds_per_url'])} s each in {p.get('rounds', 1)} interleaved rounds (the median round shown), "
            f"2×4 keep-alive clients ({p.get('load_generator', 'python-httpx')})",
            "",
            "| page | req/s | p95 | queries | errors |",
            "|---|---|---|---|---|",
        ]
        for name, r in p["urls"].items():
            lines.append(f"| {name} | {fmt(r['req_per_s'])} | {fmt(r['p95_ms'])} ms | {r['queries']} | {r['errors']} |")
        lines += [
            "",
            f"Project page 10k/12 videos: **{fmt(p['project_10k_ratio_to_12'])}**; 10k project page / reference: "
            f"**{fmt(p['project_10k_ratio_to_reference'])}**; asset page / reference: "
            f"**{fmt(p['assets_10k_ratio_to_reference'])}**. "
            + (
                "Each ratio is the median of the rounds' ratios (the two pages measured seconds apart in each round): "
                f"10k/12 {', '.join(fmt(r) for r in p['project_10k_ratio_to_12_rounds'])}; 10k/reference "
                f"{', '.join(fmt(r) for r in p['project_10k_ratio_to_reference_rounds'])}; assets/reference "
                f"{', '.join(fmt(r) for r in p['assets_10k_ratio_to_reference_rounds'])}. "
                if "project_10k_ratio_to_12_rounds" in p
                else ""
            )
            + "The reference (`tests/benchmarks/bench_urls.py`) renders the signed-in user's 24 newest jobs with one "
            "query (no index serves it: it sorts the user's 10,012 jobs). " + "The server's cache is "
            f"{'Redis, as in production' if p.get('cache') == 'redis' else 'the file cache (REDIS_URL unset)'}; "
            "the query counts are of a page's second request, once the caches it reads are filled (the bell's "
            "count, the team's member and project lists).",
            "",
        ]
    if "upload_inspection_rss" in s:
        p = s["upload_inspection_rss"]
        lines += [
            f"## Upload inspection, real RSS ({p['image']})",
            "",
            f"- `inspect_image`: peak RSS growth **{fmt(p['inspect']['peak_rss_growth_mb'])} MB**",
            "- reference, a full Pillow decode of the same file: "
            f"{fmt(p['full_decode_reference']['peak_rss_growth_mb'])} MB",
            "",
        ]
    if "finalize_rss" in s:
        p = s["finalize_rss"]
        lines += [
            "## Finalize of a large output",
            "",
            f"- output: {p['output_bytes'] / 2**20:,.0f} MB H.264 MP4; job after finalize: `{p['job_state_after']}` "
            f"{p['error']}",
            f"- worker peak RSS growth: **{fmt(p['worker_peak_rss_growth_mb'])} MB** (goal ≤ 50 MB)",
            "",
        ]
    if RESULTS["errors"]:
        lines += ["## Sections that failed in this run", ""]
        for name, error in RESULTS["errors"].items():
            lines += [f"### {name}", "", "```", error.strip()[-3000:], "```", ""]
    lines += [f"Section durations (s): `{json.dumps(RESULTS.get('seconds', {}))}`", ""]
    (docs / "benchmarks.md").write_text("\n".join(lines))


SECTIONS = {
    "holds": bench_holds,
    "live_jobs": bench_live_jobs,
    "poll_latency": bench_poll_latency,
    "pages": bench_pages,
    "upload_inspection_rss": bench_upload_rss,
    "finalize_rss": bench_finalize_rss,
}


def main() -> int:
    os.chdir(ROOT)
    if os.environ.get("BENCH_REPORT_ONLY") == "1":  # rewrite docs/benchmarks.md from docs/benchmarks.json
        RESULTS.update(json.loads((ROOT / "docs" / "benchmarks.json").read_text()))
        write_report()
        return 0
    chosen = [name for name in os.environ.get("BENCH_ONLY", "").split(",") if name] or list(SECTIONS)
    previous = ROOT / "docs" / "benchmarks.json"
    if len(chosen) < len(SECTIONS) and previous.exists():
        # Some sections only: keep the other sections' figures from the last run (each records its own time).
        earlier = json.loads(previous.read_text())
        RESULTS["sections"] = {k: v for k, v in earlier.get("sections", {}).items() if k not in chosen}
        RESULTS["errors"] = {k: v for k, v in earlier.get("errors", {}).items() if k not in chosen}
        RESULTS["seconds"] = {k: v for k, v in earlier.get("seconds", {}).items() if k not in chosen}
        RESULTS["earlier_machine"] = earlier.get("machine")
    RESULTS["database"] = prepare_database()
    RESULTS["machine"] = {}
    bootstrap = Emulator(queue_seconds=1, run_seconds=1)
    try:
        setup_django(bootstrap.url)
    finally:
        bootstrap.stop()
    RESULTS["machine"] = machine()
    started = time.monotonic()
    try:
        for name in chosen:
            SECTIONS[name]()
            write_report()
    finally:
        RESULTS["total_seconds"] = round(time.monotonic() - started, 1)
        write_report()
        drop_database()
    log(f"wrote docs/benchmarks.md and docs/benchmarks.json in {RESULTS['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
