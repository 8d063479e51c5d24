"""`make chaos`: a soak of the whole pipeline under faults, then the books and the jobs are checked.

What runs, each a real process: PostgreSQL (a fresh ``<name>_chaos`` database), a **private** redis-server on a free
port (broker and cache; it is the one restarted, never the machine's shared Redis), the emulator on a socket, the web
app under gunicorn (webhooks arrive there), and one Celery worker with embedded beat (all queues, the poller's
included). Meanwhile:

- users submit jobs (text to video at WaveSpeed, PixVerse and HighwayAPI) and browse their project page;
- the emulator delivers WaveSpeed webhooks; faults are injected at the issue's rates: for every create, 5% answer
  500, 5% answer 429 and 2% time out (armed through the emulator's control API as the creates are sent); for polls,
  5% / 5% / 2% of jobs carry a first-poll 500 / 429 / timeout (``#poll-*`` prompt tokens);
- the worker is SIGKILLed (pool, beat and all) every ``--kill-every`` seconds and restarted;
- Redis is restarted once, a third of the way in.

Afterwards submitting stops, the worker is left to settle, and the run prints: ``reconcile_ledger``'s result, jobs
not terminal (stuck), paid creates duplicated at the provider (any idempotency key the emulator accepted twice), web
5xx answers, and the jobs by state. Exit status 1 if any of the first four is not clean.

    python -m tests.chaos.soak --minutes 5 --kill-every 60     # make chaos
    python -m tests.chaos.soak --minutes 1.5 --kill-every 20   # CI's short version (tests/chaos/test_soak.py)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from tests.benchmarks.realpaths import (
    ROOT,
    Emulator,
    PrivateRedis,
    celery_worker_command,
    drop_database,
    free_port,
    log,
    prepare_database,
    wait_http,
)

#: The providers that generate from text (DashScope's C1 takes images only: its modes are i2v and r2v).
PROVIDERS = ("wavespeed", "pixverse", "highway")
CREATE_FAULTS = (("error500", 0.05), ("ratelimit", 0.05), ("timeout", 0.02))
POLL_TOKENS = (("#poll-error500", 0.05), ("#poll-ratelimit", 0.05), ("#poll-timeout", 0.02))


class Worker:
    """One Celery worker process group: ``main`` (default, submit, finalize, with embedded beat) or ``poller``
    (poll, sweep), as `make run` and compose run them."""

    def __init__(self, env: dict[str, str], workdir: Path, kind: str) -> None:
        self.env = env
        self.workdir = workdir
        self.kind = kind
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log_file = (self.workdir / f"{self.kind}-{self.starts}.log").open("wb")
        if self.kind == "main":
            extra = ["-B", "-s", str(self.workdir / f"beat-{self.starts}"), "-Q", "default,submit,finalize"]
        else:
            extra = ["-Q", "poll,sweep", "-n", f"poller{self.starts}@%h"]
        self.process = subprocess.Popen(
            celery_worker_command("studio", *extra),
            cwd=ROOT,
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
            self.process = None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("CHAOS_MINUTES", "5")))
    parser.add_argument("--kill-every", type=float, default=float(os.environ.get("CHAOS_KILL_EVERY", "60")))
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--settle", type=float, default=300.0, help="at most this long for the jobs to finish after")
    args = parser.parse_args()
    os.chdir(ROOT)
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    database = prepare_database("chaos")
    if database != "postgresql":
        log("chaos needs PostgreSQL: set DATABASE_URL=postgres://…")
        return 2
    redis = PrivateRedis(workdir)
    redis.start()
    broker = f"redis://127.0.0.1:{redis.port}/0"
    secret = "whsec_" + uuid.uuid4().hex
    emulator = Emulator(queue_seconds=1, run_seconds=3, wavespeed_webhook_secret=secret)  # it signs with ours
    web_port = free_port()
    public = f"http://127.0.0.1:{web_port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "studio.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "chaos-only-" + uuid.uuid4().hex,
        "STUDIO_VAR_DIR": str(workdir / "var"),
        "STATIC_ROOT": str(workdir / "static"),
        "CELERY_BROKER_URL": broker,
        "REDIS_URL": broker,
        "PUBLIC_BASE_URL": public,
        "EMULATOR_URL": emulator.url,
        "SSRF_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WAVESPEED_WEBHOOK_SECRET": secret,
        "PROVIDER_HTTP_TIMEOUT": "10",  # outputs are rendered while their download waits: slow on a busy machine
        "GENERATIONS_POLL_BASE_SECONDS": "0.5",
        "GENERATIONS_POLL_MAX_SECONDS": "3",
        "GENERATIONS_POLL_SWEEP_SECONDS": "0.5",
        "GENERATIONS_POLL_LEASE_SECONDS": "6",
        "GENERATIONS_REQUEUE_BASE_SECONDS": "0.5",
        "GENERATIONS_RECONCILE_SECONDS": "3",
        "GENERATIONS_STUCK_SECONDS": "10",
        "GENERATIONS_UNKNOWN_GRACE_SECONDS": "8",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update({k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    # This driver's own log (a line for each task that its creates enqueue) would bury the figures it prints; the
    # servers and workers keep theirs, in their files under the work directory.
    os.environ["LOG_LEVEL"] = "WARNING"
    emulator.control("POST", "config", json={"timeout_delay_seconds": 12})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from billing import ledger
    from billing.metering import DEFAULT_RATES
    from billing.models import RateCard
    from billing.rate_cards import rate_card_publish
    from billing.reconcile import reconcile
    from billing.wallets import personal_wallet
    from generations.models import GenerationJob
    from generations.services.jobs import GenerationRefused, JobRequest, generation_create
    from generations.states import TERMINAL
    from generations.validation import SpecValidationError
    from tests.benchmarks.realpaths import world

    if not RateCard.objects.filter(is_active=True).exists():
        rate_card_publish(rates=DEFAULT_RATES, note="chaos")
    people = []
    for i in range(args.users):
        user, _team, project = world(f"chaos{i}")
        ledger.grant(wallet=personal_wallet(user=user), amount=10_000_000, reason="chaos", created_by=None)
        people.append((user, project))

    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "studio.wsgi:application", "--bind", f"127.0.0.1:{web_port}", "-w", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "web.log").open("wb"),
        start_new_session=True,
    )
    workers = [Worker(env, workdir, "main"), Worker(env, workdir, "poller")]
    for worker in workers:
        worker.start()
    stop = threading.Event()
    figures: Counter[str] = Counter()
    lock = threading.Lock()

    def count(name: str, n: int = 1) -> None:
        with lock:
            figures[name] += n

    def submitter(user: Any, project: Any, seed: int) -> None:
        rng = random.Random(seed)
        from django.db import connection

        while not stop.is_set():
            provider = rng.choice(PROVIDERS)
            tokens = [token for token, rate in POLL_TOKENS if rng.random() < rate]
            for fault, rate in CREATE_FAULTS:
                if rng.random() < rate:
                    with contextlib.suppress(Exception):
                        emulator.control("POST", "faults", json={"provider": provider, "fault": fault, "on": "create"})
                    count(f"create_fault_{fault}")
            prompt = " ".join([f"a harbour at dusk, take {uuid.uuid4().hex[:6]}", *tokens])
            request = JobRequest(mode="t2v", prompt=prompt, provider=provider, resolution="360p", duration=5)
            try:
                generation_create(user=user, project=project, request=request)
                count("submitted")
            except (
                GenerationRefused,
                SpecValidationError,
            ) as exc:  # a clear refusal (an option this provider lacks): nothing was held
                count(f"refused_{provider}")
                if rng.random() < 0.05:
                    log(f"  refused at {provider}: {exc}")
            except Exception as exc:  # the broker may be down (Redis restart): the job is queued, beat dispatches it
                count(f"submit_error_{type(exc).__name__}")
            stop.wait(rng.uniform(1.0, 4.0))
        connection.close()

    def browser(user: Any, project: Any) -> None:
        import httpx
        from django.conf import settings
        from django.db import connection
        from django.test import Client

        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        with httpx.Client(base_url=public, cookies={settings.SESSION_COOKIE_NAME: cookie}, timeout=20) as http:
            while not stop.is_set():
                for path in (f"/projects/{project.pk}/", "/healthz"):
                    try:
                        status = http.get(path).status_code
                    except httpx.HTTPError:
                        status = 0
                    count("pages")
                    if status >= 500:
                        count("web_5xx")
                stop.wait(1.0)
        connection.close()

    wait_http(f"{public}/healthz", timeout=60)
    threads = [threading.Thread(target=submitter, args=(u, p, i), daemon=True) for i, (u, p) in enumerate(people)]
    threads += [threading.Thread(target=browser, args=people[0], daemon=True)]
    for thread in threads:
        thread.start()
    duration = args.minutes * 60
    started = time.monotonic()
    next_kill = started + args.kill_every
    redis_restart_at = started + duration / 3
    redis_restarted = False
    log(f"soak: {args.minutes} min, SIGKILL every {args.kill_every:g} s, {args.users} users")
    while time.monotonic() - started < duration:
        now = time.monotonic()
        if now >= next_kill:
            victim = workers[figures["worker_sigkills"] % 2]  # the main worker and the poller, in turn
            victim.kill()
            victim.start()
            count("worker_sigkills")
            log(f"  {victim.kind} worker SIGKILLed and restarted ({figures['submitted']} submitted so far)")
            next_kill = now + args.kill_every
        if not redis_restarted and now >= redis_restart_at:
            redis.stop()
            time.sleep(2)
            redis.start()  # the same port: every client reconnects to it
            redis_restarted = True
            count("redis_restarts")
            log("  private Redis restarted")
        time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    log(f"submitting stopped; letting the jobs settle (≤ {args.settle:g} s, or 60 s without progress)")
    deadline = time.monotonic() + args.settle
    last_progress, finished = time.monotonic(), -1
    while time.monotonic() < deadline and time.monotonic() - last_progress < 60:
        open_jobs = GenerationJob.objects.exclude(state__in=TERMINAL).count()
        if open_jobs == 0:
            break
        done = GenerationJob.objects.filter(state__in=TERMINAL).count()
        if done != finished:
            finished, last_progress = done, time.monotonic()
        time.sleep(2)
    stuck = list(GenerationJob.objects.exclude(state__in=TERMINAL).values_list("pk", "state", "provider"))
    by_state = Counter(GenerationJob.objects.values_list("state", flat=True))
    creates = emulator.control("GET", "creates")
    duplicated = sorted(key for key, entry in creates["by_key"].items() if entry["accepted"] > 1)
    hooks = emulator.control("GET", "webhooks")["webhooks"]
    refused = [hook for hook in hooks if hook["status_code"] is None or not 200 <= hook["status_code"] < 300]
    hooks_accepted = len(hooks) - len(refused)
    report = reconcile()
    for worker in workers:
        worker.kill(signal.SIGTERM)
    os.killpg(gunicorn.pid, signal.SIGTERM)
    gunicorn.wait(timeout=30)
    emulator.stop()
    redis.stop()
    result = {
        "minutes": args.minutes,
        "kill_every_s": args.kill_every,
        "figures": dict(figures),
        "jobs_by_state": dict(by_state),
        "reconcile_ledger": report.summary(),
        "reconcile_ok": report.ok,
        "stuck_jobs": [f"{pk} {state} {provider}" for pk, state, provider in stuck],
        "duplicated_paid_creates": duplicated,
        "web_5xx": figures["web_5xx"],
        "creates_sent_to_providers": creates["total"],
        "webhooks_sent": len(hooks),
        "webhooks_accepted": hooks_accepted,
        # what the others got: an answer (status, reply), a transport error, or no attempt yet when the soak read them
        "webhooks_not_accepted": [
            {key: hook[key] for key in ("status_code", "reply", "error", "delivered")} for hook in refused
        ],
    }
    drop_database()
    print(json.dumps(result, indent=2))
    print(f"reconcile_ledger: {report.summary()}")
    print(f"stuck jobs: {len(stuck)}")
    print(f"duplicated paid creates: {len(duplicated)}")
    print(f"web 5xx: {figures['web_5xx']}")
    print(f"webhooks accepted: {hooks_accepted} of {len(hooks)} sent")
    clean = report.ok and not stuck and not duplicated and not figures["web_5xx"] and figures["submitted"] > 0
    print("CHAOS: CLEAN" if clean else f"CHAOS: PROBLEMS (logs in {workdir})")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
