"""A throwaway fifth provider, "Acme Video", as ONE adapter module (see generations/providers/README.md).

Its (made-up) API: ``POST /v1/videos`` ``{prompt, seconds, resolution, aspect_ratio, audio}`` → ``{"id"}``;
``GET /v1/videos/{id}`` → ``{"id", "status": queued|running|done|failed, "video_url", "error"}``.
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar

from generations.providers.base import (
    Capabilities,
    CreateRequest,
    JobSpec,
    Mode,
    PollResult,
    ProviderAdapter,
    ProviderState,
    SubmitResult,
)
from generations.providers.errors import MalformedResponseError, UnknownStatusError
from generations.providers.http import HttpAnswer, ProviderHttp, expect_mapping, expect_str

STATUS_MAP = {
    "queued": ProviderState.QUEUED,
    "running": ProviderState.RUNNING,
    "done": ProviderState.SUCCEEDED,
    "failed": ProviderState.FAILED,
}


class AcmeAdapter(ProviderAdapter):
    name: ClassVar[str] = "acme"
    label: ClassVar[str] = "Acme Video"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modes=frozenset({Mode.TEXT_TO_VIDEO}), prompt_required=frozenset(Mode)
    )
    api_base_url: ClassVar[str] = "https://api.acme.invalid/v1"
    emulator_path: ClassVar[str] = "/acme/v1"
    env_prefix: ClassVar[str] = "ACME"
    default_concurrency: ClassVar[int] = 2
    routing_rank: ClassVar[int] = 50

    @cached_property
    def _http(self) -> ProviderHttp:
        return ProviderHttp(
            provider=self.name,
            base_url=self.config.base_url,
            headers={"Authorization": f"Bearer {self.config.api_key}"},
        )

    def build_create(self, spec: JobSpec) -> CreateRequest:
        return CreateRequest(
            "/videos",
            {
                "prompt": spec.prompt,
                "seconds": spec.duration,
                "resolution": spec.resolution,
                "aspect_ratio": spec.aspect_ratio or "16:9",
                "audio": spec.generate_audio_switch,
            },
        )

    def send_create(self, spec: JobSpec, request: CreateRequest) -> HttpAnswer:
        return self._http.request(
            "POST", request.path, json=request.json, is_create=True, idempotency_key=str(spec.job_id)
        )

    def parse_created(self, answer: HttpAnswer) -> SubmitResult:
        body = expect_mapping(answer.data, what="response", provider=self.name)
        return SubmitResult(provider_job_id=expect_str(body, "id", what="response", provider=self.name))

    def poll(self, provider_job_id: str) -> PollResult:
        body = expect_mapping(
            self._http.request("GET", f"/videos/{provider_job_id}").data, what="video", provider=self.name
        )
        status = body.get("status")
        state = STATUS_MAP.get(status) if isinstance(status, str) else None
        if state is None:
            raise UnknownStatusError(f"unknown Acme status {status!r}", provider=self.name)
        if state == ProviderState.SUCCEEDED:
            url = body.get("video_url")
            if not isinstance(url, str) or not url:
                raise MalformedResponseError("done without video_url", provider=self.name)
            return PollResult(state=state, raw_status=str(status), output_url=url)
        return PollResult(state=state, raw_status=str(status), error_message=str(body.get("error") or ""))
