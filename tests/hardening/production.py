"""A production-shaped environment and a real gunicorn serving it, for the deploy-check and header tests."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.net import LOOPBACK, free_port

ROOT = Path(__file__).resolve().parents[2]


def production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """What a production deploy sets (README, "Production"), on a scratch var/ and SQLite database."""
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    base.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        STUDIO_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'db.sqlite3'}",
        CELERY_BROKER_URL="filesystem://",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="studio.example.com,127.0.0.1",
        PUBLIC_BASE_URL="https://studio.example.com",
        BEHIND_PROXY="1",
        STATIC_MANIFEST="0",
    )
    base.update(extra)
    return base


def manage(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@contextlib.contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[str]:
    """gunicorn serving studio.wsgi with ``env`` on a free loopback port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "studio.wsgi:application", "--bind", f"{LOOPBACK}:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stderr.read() if process.stderr else ""
                    raise AssertionError(f"gunicorn did not start: {output}") from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
