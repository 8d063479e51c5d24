"""Issue 13 finding 13: `make emulators` and `python manage.py emulate_providers` start without DEBUG=1 (and without a
SECRET_KEY), while every other command still refuses to start without one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.net import LOOPBACK, free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env.update(STUDIO_VAR_DIR=str(tmp_path))  # no DEBUG, no SECRET_KEY
    return env


def _serves(command: list[str], env: dict[str, str], port: int) -> None:
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                answer = httpx.get(f"http://{LOOPBACK}:{port}/_control/jobs", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    raise AssertionError(f"{command} did not serve: {output}") from None
                time.sleep(0.3)
        assert answer.status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_finding_13_emulate_providers_starts_without_debug(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "manage.py", "emulate_providers", "--host", LOOPBACK, "--port", str(port), "--quiet"]
    _serves(command, _clean_env(tmp_path), port)


def test_finding_13_make_emulators_starts_without_debug(tmp_path: Path) -> None:
    port = free_port()
    _serves(["make", "--no-print-directory", "emulators", f"EMULATOR_PORT={port}"], _clean_env(tmp_path), port)


def test_finding_13_other_commands_still_need_a_secret_key(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
