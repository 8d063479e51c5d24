"""Run the whole studio locally: web, Celery worker, Celery beat and the provider emulators, as child processes.

Ctrl-C (or SIGTERM) stops all of them. Output from every child is prefixed with its name. Data stays under var/,
so running it again keeps everything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse


def _pump(name: str, stream: IO[bytes]) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{name:>9} | {line.decode(errors='replace')}")
        sys.stdout.flush()


class Command(BaseCommand):
    help = "Run web + Celery worker + beat + emulators together (what `make run` starts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--no-emulators", action="store_true", help="Use the real providers configured by env.")

    def handle(self, *args: object, port: int, host: str, no_emulators: bool, **options: object) -> None:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "studio"]
        commands: dict[str, list[str]] = {
            "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
            "worker": [
                *celery,
                "worker",
                "-Q",
                "default,submit,finalize",
                "-c",
                "2",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            # The poll engine's own worker: sweeps of due polls and webhook-prompted fetches never queue behind a
            # submit or a long finalize (generations/services/poll.py).
            "poller": [
                *celery,
                "worker",
                "-Q",
                "poll,sweep",
                "-c",
                "2",
                "-n",
                "poller@%h",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            "beat": [*celery, "beat", "-l", "INFO", "-s", settings.CELERY_BEAT_SCHEDULE_FILENAME],
        }
        if not no_emulators:
            emulator = settings.EMULATOR_URL.rsplit(":", 1)
            commands["emulators"] = [
                python,
                "manage.py",
                "emulate_providers",
                "--host",
                "127.0.0.1",
                "--port",
                emulator[-1] if len(emulator) == 2 else "8765",
                # The emulated PixVerse console webhook delivers to our own endpoint (providers.md §10).
                "--pixverse-webhook-url",
                settings.PUBLIC_BASE_URL + reverse("generations:webhook", kwargs={"provider": "pixverse"}),
            ]
        for folder in ("broker/queue", "broker/processed", "media", "cache"):
            (settings.VAR_DIR / folder).mkdir(parents=True, exist_ok=True)

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # The emulator has each video ready when it reports the job completed, as a real provider's CDN does.
        env.setdefault("EMULATOR_PRERENDER_LEAD_SECONDS", "3")
        children: dict[str, subprocess.Popen[bytes]] = {}
        for name, command in commands.items():
            children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
            threading.Thread(target=_pump, args=(name, children[name].stdout), daemon=True).start()

        self.stdout.write(
            self.style.SUCCESS(
                f"\nStudio is starting on http://{host}:{port}/  (Ctrl-C stops everything)\n"
                f"Demo login: demo@studio.local / demo-studio-1\n"
            )
        )
        stopping = threading.Event()

        def _stop(*_: object) -> None:
            stopping.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stopping.is_set():
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with code {child.returncode}; stopping the rest.")
                        stopping.set()
                        break
                stopping.wait(0.5)
        finally:
            # SIGTERM to each main process only: Celery then shuts its pool down warmly (a signal to the whole
            # group would kill the pool children under it). Whatever is left after the grace period is killed.
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 15
            for child in children.values():
                remaining = max(0.1, deadline - time.monotonic())
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=remaining)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
            self.stdout.write("Stopped.")
