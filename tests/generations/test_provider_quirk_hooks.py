"""Provider quirks live in their adapter: DashScope's UNKNOWN for a young task id is "no answer yet" (retried), not
"expired" — decided by ``DashScopeAdapter.expired_means_not_yet``, not by the poll engine."""

from __future__ import annotations

from generations.models import GenerationJob
from generations.providers.base import Mode, PollResult, ProviderState
from generations.providers.registry import adapter_class
from generations.services.jobs import generation_create
from generations.states import State
from tests.generations.test_generation_lifecycle import request_for


def test_the_hook_is_the_adapters() -> None:
    unknown = PollResult(state=ProviderState.EXPIRED, raw_status="UNKNOWN")
    assert adapter_class("dashscope")().expired_means_not_yet(unknown) is True
    assert adapter_class("pixverse")().expired_means_not_yet(PollResult(ProviderState.EXPIRED, "6")) is False


def test_a_young_dashscope_unknown_is_retried_not_expired(pipeline) -> None:
    pipeline.emulator.app.config.dashscope_task_ttl_seconds = -1  # the emulator forgets every task at once
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "dashscope"),
    )
    pipeline.worker.drain(until=lambda: GenerationJob.objects.get(pk=job.pk).poll_errors >= 2)
    job.refresh_from_db()
    assert job.state in (State.SUBMITTED, State.RUNNING)
    assert job.poll_errors >= 2 and job.hold.state == "open"
