"""CI's short version of `make chaos`: 90 seconds of users, webhooks and faults, the worker SIGKILLed every 20 s and
Redis restarted once; the soak must end clean (reconcile_ledger ok, no stuck job, no duplicated paid create, no 5xx).

It runs `python -m tests.chaos.soak` as a subprocess (its own database, private redis-server, emulator, gunicorn and
worker), so it needs PostgreSQL and a redis-server binary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_in_ci

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_ends_clean() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or shutil.which("redis-server") is None:
        if require_in_ci("REQUIRE_POSTGRES") or require_in_ci("REQUIRE_REDIS"):
            pytest.fail("the soak needs DATABASE_URL=postgres://… and a redis-server binary")
        pytest.skip("needs PostgreSQL (DATABASE_URL) and redis-server")
    run = subprocess.run(
        [sys.executable, "-m", "tests.chaos.soak", "--minutes", "1.5", "--kill-every", "20", "--users", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = run.stdout
    assert run.returncode == 0, out[-6000:] + run.stderr[-4000:]
    result = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert result["reconcile_ok"], result["reconcile_ledger"]
    assert result["stuck_jobs"] == []
    assert result["duplicated_paid_creates"] == []
    assert result["web_5xx"] == 0
    assert result["figures"]["worker_sigkills"] >= 3 and result["figures"]["redis_restarts"] == 1
    assert result["figures"]["submitted"] > 0
    assert result["webhooks_accepted"] > 0  # the emulator signs with the secret the studio verifies
