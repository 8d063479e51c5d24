"""Helpers for the pipeline tests: assets with real image files, funded wallets, and an in-process "worker" that
runs the follow-up work the services enqueue (``generations.services.enqueue``) — no broker, no Celery."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image

from billing import ledger
from billing.wallets import wallet_for_spending
from generations.models import GenerationJob
from generations.services.enqueue import Work
from generations.states import TERMINAL, State
from studio.accounts.models import User
from studio.assets.models import Asset
from studio.teams.models import Team


def png_bytes(width: int = 320, height: int = 240, colour: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make_asset(
    team: Team, *, ref_name: str, user: User | None = None, colour: tuple[int, int, int] = (200, 80, 40)
) -> Asset:
    content = png_bytes(colour=colour)
    asset = Asset(
        team=team,
        name=ref_name.title(),
        ref_name=ref_name,
        format="PNG",
        width=320,
        height=240,
        size_bytes=len(content),
        sha256=hashlib.sha256(content + ref_name.encode()).hexdigest(),
        uploaded_by=user,
    )
    asset.file.save(f"{ref_name}.png", ContentFile(content), save=False)
    asset.save()
    return asset


def fund(user: User, team: Team, amount: int = 10_000) -> None:
    ledger.grant(
        wallet=wallet_for_spending(user=user, team=team), amount=amount, reason="test credits", created_by=None
    )


def balance(user: User, team: Team) -> int:
    wallet = wallet_for_spending(user=user, team=team)
    wallet.refresh_from_db()
    return int(wallet.balance)


class DjangoClientTransport(httpx.BaseTransport):
    """Lets the in-process emulator fetch our signed file URLs (``http://testserver/files/…``) through the test
    client, inside the test's transaction."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = Client().get(request.url.raw_path.decode())
        streaming = getattr(response, "streaming", False)
        content = b"".join(response.streaming_content) if streaming else response.content  # type: ignore[attr-defined]
        return httpx.Response(response.status_code, content=content, headers={"content-type": response["Content-Type"]})


@dataclass
class InlineWorker:
    """Runs enqueued work in order, ignoring countdowns (the emulator's timelines are 0 s in these tests)."""

    queue: list[Work] = field(default_factory=list)
    log: list[Work] = field(default_factory=list)

    def __call__(self, work: Work) -> None:
        self.queue.append(work)

    def run(self, work: Work) -> None:
        from uuid import UUID

        from generations import reconcile, slots
        from generations.services.finalize import RetryLater, generation_finalize
        from generations.services.poll import generation_poll
        from generations.services.submit import generation_submit

        self.log.append(work)
        kwargs = work.kwargs
        if work.task == "job_submit":
            generation_submit(job_id=UUID(kwargs["job_id"]))
        elif work.task == "job_poll":
            generation_poll(job_id=UUID(kwargs["job_id"]), seq=int(kwargs["seq"]))
        elif work.task == "job_finalize":
            try:
                generation_finalize(job_id=UUID(kwargs["job_id"]))
            except RetryLater:
                self.queue.append(work)
        elif work.task == "dispatch_queued":
            slots.dispatch_queued()
        elif work.task == "reconcile_jobs":
            reconcile.reconcile_jobs()
        else:  # pragma: no cover
            raise AssertionError(f"unknown task {work.task}")

    def drain(self, *, max_steps: int = 500, until: Callable[[], bool] | None = None) -> int:
        """Run queued work until none is left (or ``until()`` holds). Returns the number of steps run."""
        steps = 0
        while steps < max_steps:
            if until is not None and until():
                break
            if not self.queue and not self.sweep():
                break
            if self.queue:
                self.run(self.queue.pop(0))
            steps += 1
        return steps

    def sweep(self) -> bool:
        """What beat's poll sweep does, with every due time treated as passed (countdowns are ignored here too).
        True if it polled anything."""
        from datetime import timedelta

        from django.utils import timezone

        from generations.services.poll import poll_sweep

        self.log.append(Work("poll_sweep"))
        return poll_sweep(now=timezone.now() + timedelta(days=3650), time_budget=0).polled > 0

    def settle(self, *jobs: GenerationJob, max_steps: int = 500) -> None:
        """Drain until every job is terminal; fail loudly if that does not happen."""

        def done() -> bool:
            return all(GenerationJob.objects.get(pk=job.pk).state in TERMINAL for job in jobs)

        self.drain(max_steps=max_steps, until=done)
        for job in jobs:
            job.refresh_from_db()
        states = {str(job.pk): job.state for job in jobs}
        assert all(job.state in TERMINAL for job in jobs), f"not settled: {states}, pending: {self.queue[:5]}"

    def tasks(self) -> list[str]:
        return [work.task for work in self.log]


def creates_for(emulator: Any, job: GenerationJob) -> int:
    """Create calls the emulator counted for this job's idempotency key."""
    response = emulator.control("GET", f"creates?key={job.pk}")
    return int(response.json()["count"])


def accepted_for(emulator: Any, job: GenerationJob) -> int:
    response = emulator.control("GET", f"creates?key={job.pk}")
    return int(response.json()["accepted"])


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


def iter_states(job: GenerationJob) -> Iterator[str]:
    for event in job.events.order_by("at", "id"):
        yield event.to_state


def release_delays() -> None:
    """Time passes: requeued jobs become eligible again."""
    GenerationJob.objects.filter(state=State.QUEUED).update(not_before=None)


def run_with_requeues(pipeline: Any, job: GenerationJob, *, rounds: int = 5) -> None:
    """Drain, let requeue backoffs pass, dispatch again; until the job is terminal (then settle to be sure)."""
    from generations.slots import dispatch_queued

    for _ in range(rounds):
        pipeline.worker.drain()
        job.refresh_from_db()
        if job.is_terminal:
            return
        release_delays()
        dispatch_queued()
    pipeline.worker.settle(job)
