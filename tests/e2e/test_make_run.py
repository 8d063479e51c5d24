"""`make run`'s process tree, for real: web, worker, beat and emulators start, the demo login reaches the dashboard,
a second start keeps the data, and Ctrl-C (SIGINT) stops every child.

This runs `manage.py migrate`, `seed_demo` and `run_local` exactly as the Makefile does, in a scratch var/ directory
and on free ports, against SQLite and the filesystem broker (what a fresh laptop has).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _env(var_dir: Path, port: int, emulator_port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"))
    }
    env.update(
        DEBUG="1",
        STUDIO_VAR_DIR=str(var_dir),
        PORT=str(port),
        EMULATOR_URL=f"http://127.0.0.1:{emulator_port}",
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _wait_for(url: str, deadline: float) -> httpx.Response:
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _login(base: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=10)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "the login page has a CSRF token"
    response = client.post(
        "/accounts/login/",
        data={"login": email, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{base}/accounts/login/"},
    )
    assert response.status_code == 200
    return client


def test_make_run_serves_login_demo_reaches_dashboard_and_ctrl_c_stops_all(tmp_path: Path) -> None:
    port, emulator_port = free_port(), free_port()
    env = _env(tmp_path, port, emulator_port)
    _manage(env, "migrate", "--noinput")
    seeded = _manage(env, "seed_demo")
    login = re.search(r"Demo login:\s+(\S+)\s+/\s+(\S+)", seeded)
    assert login, f"seed_demo prints the demo login, got: {seeded!r}"
    email, password = login.groups()

    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_local", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        login_page = _wait_for(f"{base}/accounts/login/", deadline)
        assert login_page.status_code == 200
        assert 'name="login"' in login_page.text
        assert _wait_for(f"http://127.0.0.1:{emulator_port}/_control/creates", deadline).status_code == 200

        client = _login(base, email, password)
        dashboard = client.get("/")
        assert str(dashboard.url) == f"{base}/"
        assert "First project" in dashboard.text
        assert client.get("/readyz").json()["status"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert process.returncode == 0, output.decode(errors="replace")[-3000:]
    text = output.decode(errors="replace")
    assert "Stopped." in text
    assert "Warm shutdown" in text  # the worker finished its tasks instead of being killed mid-job
    assert "exited with 'signal" not in text, "Ctrl-C killed Celery pool processes instead of stopping them"
    for name in ("web", "worker", "beat", "emulators"):
        assert re.search(rf"^\s*{name} \|", text, re.MULTILINE), f"{name} produced no output:\n{text[-3000:]}"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)

    # Idempotent: a second seed keeps the same demo user and does not duplicate the starter project.
    again = _manage(env, "seed_demo")
    assert email in again
    projects = _manage(
        env, "shell", "-v", "0", "-c", "from studio.projects.models import Project; print(Project.objects.count())"
    )
    assert projects.strip() == "1"
