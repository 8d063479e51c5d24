"""The live-jobs bench's poller: the studio's own Celery app, run as production runs the poll engine
(`celery -A tests.benchmarks.poller worker -Q poll,sweep -c 2`), with one addition for the measurement.

Each prefork child appends one JSON line per sweep to ``$BENCH_SWEEP_LOG/<pid>.jsonl`` (its wall-clock start and end,
jobs polled, and each claimed job's lateness), and the main process writes ``ready`` when it consumes. Nothing else
differs from `celery -A studio worker`: the same tasks, settings (from the environment), broker and pool.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from celery.signals import worker_process_init, worker_ready

from studio.celery import app

__all__ = ["app"]


def _log_dir() -> Path:
    return Path(os.environ["BENCH_SWEEP_LOG"])


@worker_process_init.connect
def _record_sweeps(**_: Any) -> None:
    import generations.tasks as tasks

    sweep = tasks.poll_sweep_service
    path = _log_dir() / f"{os.getpid()}.jsonl"

    def recorded(**kwargs: Any) -> Any:
        started = time.time()
        report = sweep(**kwargs)
        line = {"start": started, "end": time.time(), "polled": report.polled, "lateness": report.lateness}
        with path.open("a") as out:
            out.write(json.dumps(line) + "\n")
        return report

    tasks.poll_sweep_service = recorded  # the task looks the name up at call time
    (_log_dir() / f"child-{os.getpid()}").touch()


@worker_ready.connect
def _ready(**_: Any) -> None:
    (_log_dir() / "ready").write_text(str(os.getpid()))
