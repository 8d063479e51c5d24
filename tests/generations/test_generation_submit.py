"""generation_submit stores what identifies the paid create (idempotency key, PixVerse Ai-trace-id) BEFORE sending it,
and mints a fresh trace id for every send."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from generations.models import GenerationJob
from generations.providers.base import Mode
from generations.providers.http import get_transport, use_transport
from generations.services.jobs import generation_create
from generations.states import State
from tests.generations.helpers import accepted_for, release_delays
from tests.generations.test_generation_lifecycle import request_for


class CreateSpy(httpx.BaseTransport):
    """Reads the job row at the moment each create request leaves, next to the headers the request carries."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.creates: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key:
            row = GenerationJob.objects.filter(pk=key).values("provider_trace_id", "submit_sent_at", "state").get()
            self.creates.append({"trace_header": request.headers.get("Ai-trace-id", ""), "row": row})
        return self.inner.handle_request(request)


@contextmanager
def spying() -> Iterator[CreateSpy]:
    inner = get_transport()
    assert inner is not None
    spy = CreateSpy(inner)
    with use_transport(spy):
        yield spy


def create(pipeline: Any, provider: str = "pixverse", prompt: str | None = None) -> GenerationJob:
    overrides = {"prompt": prompt} if prompt is not None else {}
    return generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, provider, **overrides),
    )


def emulator_trace_ids(pipeline: Any, prompt: str) -> list[str]:
    store = pipeline.emulator.app.store
    return [job.extra["trace_id"] for job in store.jobs.values() if job.provider == "pixverse" and job.prompt == prompt]


def test_pixverse_trace_id_is_stored_before_the_paid_call_and_sent_with_it(pipeline):
    with spying() as spy:
        job = create(pipeline, prompt="a lighthouse at dusk")
        pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    assert len(spy.creates) == 1
    sent = spy.creates[0]
    # At the moment the request left, the row already held the claim and the very trace id on the wire.
    assert sent["row"]["state"] == State.SUBMITTING
    assert sent["row"]["submit_sent_at"] is not None
    assert sent["trace_header"]
    assert sent["row"]["provider_trace_id"] == sent["trace_header"]
    assert job.provider_trace_id == sent["trace_header"]
    assert emulator_trace_ids(pipeline, "a lighthouse at dusk") == [sent["trace_header"]]


def test_ambiguous_pixverse_create_keeps_the_trace_id_it_was_sent_with(pipeline):
    pipeline.emulator.arm(provider="pixverse", fault="timeout", on="create", times=1)
    with spying() as spy:
        job = create(pipeline, prompt="a harbour in fog")
        pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    assert job.provider_job_id == ""
    # No provider id came back, yet the job still names the create PixVerse received (for support and tracing).
    assert job.provider_trace_id == spy.creates[0]["trace_header"] != ""
    assert emulator_trace_ids(pipeline, "a harbour in fog") == [job.provider_trace_id]
    # The page says what happens next, in words, not an exception text.
    assert "never send it twice" in job.error_message
    assert "credits are returned" in job.error_message


def test_every_send_mints_a_fresh_trace_id(pipeline):
    """PixVerse leaves a job stuck when a trace id is reused: a requeued job (500044) sends with a new one."""
    from generations.slots import dispatch_queued

    pipeline.emulator.arm(provider="pixverse", fault="busy", on="create", times=1)
    with spying() as spy:
        job = create(pipeline, prompt="a kite over dunes")
        pipeline.worker.drain()
        release_delays()
        dispatch_queued()
        pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    headers = [sent["trace_header"] for sent in spy.creates]
    assert len(headers) == 2 and len(set(headers)) == 2
    assert [sent["row"]["provider_trace_id"] for sent in spy.creates] == headers
    assert job.provider_trace_id == headers[1]
    assert accepted_for(pipeline.emulator, job) == 1


def test_providers_without_a_client_trace_id_store_none_before_the_call(pipeline):
    with spying() as spy:
        job = create(pipeline, provider="wavespeed", prompt="a calm sea")
        pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    assert spy.creates[0]["row"]["provider_trace_id"] == ""
    assert spy.creates[0]["row"]["submit_sent_at"] is not None
