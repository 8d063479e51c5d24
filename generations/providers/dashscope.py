"""Alibaba DashScope (Model Studio) adapter — providers.md §3.

Quirks handled here:
- Creates need ``X-DashScope-Async: enable`` (without it: AccessDenied).
- i2v sends ``parameters.resolution`` in uppercase (``720P``); t2v/r2v send ``parameters.size`` = "W*H" instead,
  looked up in ``SIZES``, DashScope's fixed documented table (providers.md §10). It is NOT our generic
  ``dimensions.output_dimensions`` (540P 16:9 is 1024*576, 720P 4:3 is 1108*832): DashScope refuses any other size.
- ``usage.duration`` is what DashScope billed → ``PollResult.billed_seconds``.
- ``UNKNOWN`` (task id older than 24 h) → EXPIRED. An UNKNOWN for a young id is possible in theory [I]; the pipeline
  knows the job's age and can reconcile instead.
- ``DataInspectionFailed`` (HTTP 400 at create, or a FAILED task code) → ModerationError / MODERATED.
- At most 20 status queries per second per account: ``poll`` claims from a ``RequestBudget`` shared through the
  cache by every worker, and past it raises ``RateLimitedError`` (retry_after < 1 s) without sending.
- Cancel works only while PENDING: any other state answers 4xx, which we read as "too late" (False).
- ``find_created`` reconciles an ambiguous create through the task list (``GET /tasks?start_time&end_time&
  model_name``): the tasks of the job's model created around the send whose ``orig_prompt`` is the job's prompt.
  The list's time parameters are read as Beijing time (the region's clock) [I]; rows without ``orig_prompt`` are
  read one by one with ``GET /tasks/{id}`` (documented to carry it), under the status-query budget.

Documented since the first build (providers.md §10):
- text-to-video is ``pixverse/pixverse-c1-t2v``, sized with ``parameters.size`` like r2v;
- r2v ``input.media`` items are exactly ``{type: "image_url", url, ref_name}`` (no ``ref_type``): each ``ref_name``
  is unique and matches an ``@ref_name`` in the prompt, which is sent unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any, ClassVar

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
from generations.providers.budget import RequestBudget
from generations.providers.dimensions import DEFAULT_ASPECT_RATIO
from generations.providers.errors import (
    AccountExhaustedError,
    MalformedResponseError,
    ModerationError,
    PermanentError,
    ProviderError,
    TransientError,
    UnknownStatusError,
)
from generations.providers.http import HttpAnswer, ProviderHttp, expect_mapping, expect_str

CREATE_PATH = "/services/aigc/video-generation/video-synthesis"
MODELS: dict[Mode, str] = {
    Mode.IMAGE_TO_VIDEO: "pixverse/pixverse-c1-it2v",
    Mode.REFERENCE_TO_VIDEO: "pixverse/pixverse-c1-r2v",
    Mode.TEXT_TO_VIDEO: "pixverse/pixverse-c1-t2v",
}
#: ``parameters.size`` ("W*H") for t2v and r2v, by our resolution and aspect ratio: DashScope's documented table
#: (help.aliyun.com pixverse-text-to-video-api-reference; providers.md §10), the same for c1 t2v and r2v.
SIZES: dict[str, dict[str, str]] = {
    "360p": {
        "16:9": "640*360", "4:3": "640*480", "1:1": "640*640", "3:4": "480*640",
        "9:16": "360*640", "3:2": "640*432", "2:3": "432*640", "21:9": "640*288",
    },
    "540p": {
        "16:9": "1024*576", "4:3": "1024*768", "1:1": "1024*1024", "3:4": "768*1024",
        "9:16": "576*1024", "3:2": "1024*688", "2:3": "688*1024", "21:9": "1024*448",
    },
    "720p": {
        "16:9": "1280*720", "4:3": "1108*832", "1:1": "960*960", "3:4": "832*1108",
        "9:16": "720*1280", "3:2": "1200*800", "2:3": "800*1200", "21:9": "1280*560",
    },
    "1080p": {
        "16:9": "1920*1080", "4:3": "1664*1248", "1:1": "1440*1440", "3:4": "1248*1664",
        "9:16": "1080*1920", "3:2": "1776*1184", "2:3": "1184*1776", "21:9": "1920*832",
    },
}  # fmt: skip
MODERATION_CODE = "DataInspectionFailed"
#: "overdue account" (HTTP 400/403): our DashScope account cannot pay — permanent for it.
ARREARAGE_CODE = "Arrearage"
#: The task list's clock (``start_time``/``end_time`` are ``YYYYMMDDhhmmss`` without a zone) [I].
BEIJING = timezone(timedelta(hours=8))
#: Window searched around the send time of an ambiguous create: clock skew before, the create's own time after.
FIND_BEFORE = timedelta(minutes=2)
FIND_AFTER = timedelta(minutes=10)
FIND_PAGE_SIZE = 100
FIND_MAX_PAGES = 5
#: DashScope's documented query limit per account (providers.md §3); ``settings.DASHSCOPE_STATUS_QPS`` overrides.
STATUS_QUERIES_PER_SECOND = 20

#: DashScope ``output.task_status`` → normalized state [D]; SUSPENDED is from the SDK [T].
STATUS_MAP: dict[str, ProviderState] = {
    "PENDING": ProviderState.QUEUED,
    "SUSPENDED": ProviderState.QUEUED,
    "RUNNING": ProviderState.RUNNING,
    "SUCCEEDED": ProviderState.SUCCEEDED,
    "FAILED": ProviderState.FAILED,
    "CANCELED": ProviderState.CANCELED,
    "UNKNOWN": ProviderState.EXPIRED,
}


class DashScopeAdapter(ProviderAdapter):
    name: ClassVar[str] = "dashscope"
    label: ClassVar[str] = "Alibaba DashScope"
    api_base_url: ClassVar[str] = "https://dashscope.aliyuncs.com/api/v1"
    emulator_path: ClassVar[str] = "/dashscope/api/v1"
    env_prefix: ClassVar[str] = "DASHSCOPE"
    default_concurrency: ClassVar[int] = 4  # documented: 5 concurrent C1 tasks per key; keep one spare
    min_poll_seconds: ClassVar[float] = 5.0  # suggests 15 s; 20 status queries/s per account
    routing_rank: ClassVar[int] = 2
    capabilities: ClassVar[Capabilities] = Capabilities(
        modes=frozenset(Mode),
        seed=True,
        watermark=True,
        cancel=True,
        notes=("Beijing region only.",),
    )

    @cached_property
    def _http(self) -> ProviderHttp:
        return ProviderHttp(
            provider=self.name,
            base_url=self.config.base_url,
            headers={"Authorization": f"Bearer {self.config.api_key}"},
            map_error=self._map_http_error,
        )

    def _map_http_error(self, answer: HttpAnswer, is_create: bool) -> ProviderError | None:
        if isinstance(answer.data, Mapping) and answer.data.get("code") == MODERATION_CODE:
            message = str(answer.data.get("message") or MODERATION_CODE)
            return ModerationError(message, provider=self.name, code=MODERATION_CODE, http_status=answer.status_code)
        if isinstance(answer.data, Mapping) and answer.data.get("code") == ARREARAGE_CODE:
            message = str(answer.data.get("message") or ARREARAGE_CODE)
            return AccountExhaustedError(
                message, provider=self.name, code=ARREARAGE_CODE, http_status=answer.status_code
            )
        return None

    def build_body(self, spec: JobSpec) -> dict[str, Any]:
        parameters: dict[str, Any] = {
            "duration": spec.duration,
            "audio": spec.generate_audio_switch,
            "watermark": spec.watermark,
        }
        if spec.seed is not None:
            parameters["seed"] = spec.seed
        media: list[dict[str, str]]
        if spec.mode == Mode.IMAGE_TO_VIDEO:
            if spec.image is None:
                raise PermanentError("image-to-video without an image", provider=self.name, code="no_image")
            media = [{"type": "image_url", "url": self.upload_image(spec.image)}]
            parameters["resolution"] = spec.resolution.upper()
        else:
            parameters["size"] = size_for(spec.resolution, spec.aspect_ratio or DEFAULT_ASPECT_RATIO)
            media = [
                {"type": "image_url", "url": self.upload_image(ref.image), "ref_name": ref.ref_name}
                for ref in spec.references
            ]
        model = self.model_for(spec.mode)
        input_: dict[str, Any] = {"prompt": spec.prompt}
        if media:
            input_["media"] = media
        return {"model": model, "input": input_, "parameters": parameters}

    def build_create(self, spec: JobSpec) -> CreateRequest:
        return CreateRequest(CREATE_PATH, self.build_body(spec), headers={"X-DashScope-Async": "enable"})

    def send_create(self, spec: JobSpec, request: CreateRequest) -> HttpAnswer:
        return self._http.request(
            "POST",
            request.path,
            json=request.json,
            headers=request.headers,
            is_create=True,
            idempotency_key=str(spec.job_id),
        )

    def parse_created(self, answer: HttpAnswer) -> SubmitResult:
        body = expect_mapping(answer.data, what="response", provider=self.name)
        output = expect_mapping(body.get("output"), what="output", provider=self.name)
        task_id = expect_str(output, "task_id", what="output", provider=self.name)
        status = str(output.get("task_status") or "PENDING")
        return SubmitResult(
            provider_job_id=task_id,
            state=STATUS_MAP.get(status, ProviderState.QUEUED),
            trace_id=str(body.get("request_id") or ""),
            raw_status=status,
        )

    def model_for(self, mode: Mode) -> str | None:
        return MODELS.get(mode)

    def find_created(self, spec: JobSpec, *, sent_at: datetime) -> list[str]:
        """Task ids that may be ``spec``'s create sent at ``sent_at``: same model, created within the window around
        ``sent_at``, ``orig_prompt`` equal to the prompt (module docstring). Sends nothing billable. Raises
        ``TransientError`` when the window holds more tasks than we read (then nothing can be concluded)."""
        model = self.model_for(spec.mode)
        if model is None:
            return []

        def stamp(moment: datetime) -> str:
            return moment.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")

        params = {
            "start_time": stamp(sent_at - FIND_BEFORE),
            "end_time": stamp(sent_at + FIND_AFTER),
            "model_name": model,
            "page_size": str(FIND_PAGE_SIZE),
        }
        found: list[str] = []
        for page_no in range(1, FIND_MAX_PAGES + 1):
            answer = self._http.request("GET", "/tasks", params={**params, "page_no": str(page_no)})
            body = expect_mapping(answer.data, what="task list", provider=self.name)
            rows = body.get("data")
            if not isinstance(rows, list):
                raise MalformedResponseError("task list without a data array", provider=self.name)
            for row in rows:
                row_map = expect_mapping(row, what="task list row", provider=self.name)
                task_id = expect_str(row_map, "task_id", what="task list row", provider=self.name)
                prompt = row_map.get("orig_prompt")
                if not isinstance(prompt, str):
                    task = self._http.request("GET", f"/tasks/{task_id}", budget=self.status_budget())
                    output = expect_mapping(
                        expect_mapping(task.data, what="response", provider=self.name).get("output"),
                        what="output",
                        provider=self.name,
                    )
                    prompt = output.get("orig_prompt")
                if prompt == spec.prompt:
                    found.append(task_id)
            if len(rows) < FIND_PAGE_SIZE:
                return found
        raise TransientError(
            f"more than {FIND_MAX_PAGES * FIND_PAGE_SIZE} tasks around the send time; cannot tell", provider=self.name
        )

    def status_budget(self) -> RequestBudget:
        """The account's status-query budget, shared by every process through the cache."""
        from django.conf import settings

        limit = int(getattr(settings, "DASHSCOPE_STATUS_QPS", STATUS_QUERIES_PER_SECOND))
        return RequestBudget(provider=self.name, api_key=self.config.api_key, limit=limit, what="status queries")

    def poll(self, provider_job_id: str) -> PollResult:
        answer = self._http.request("GET", f"/tasks/{provider_job_id}", budget=self.status_budget())
        return parse_task(expect_mapping(answer.data, what="response", provider=self.name), provider=self.name)

    def expired_means_not_yet(self, result: PollResult) -> bool:
        """DashScope says UNKNOWN for ids older than 24 h; for a young id it is not an answer yet [I]."""
        return result.raw_status == "UNKNOWN"

    def cancel(self, provider_job_id: str) -> bool:
        """True when DashScope canceled the task; False when it is past PENDING (DashScope answers 4xx)."""
        try:
            self._http.request("POST", f"/tasks/{provider_job_id}/cancel")
        except PermanentError as exc:
            if exc.http_status in (400, 409) and not isinstance(exc, ModerationError):
                return False
            raise
        return True


def size_for(resolution: str, aspect_ratio: str) -> str:
    """The documented ``parameters.size`` for a t2v/r2v job; ``PermanentError`` for a pair outside the table."""
    try:
        return SIZES[resolution][aspect_ratio]
    except KeyError:
        raise PermanentError(
            f"DashScope has no documented size for {resolution} {aspect_ratio}", provider="dashscope", code="size"
        ) from None


def _size(value: Any) -> tuple[int | None, int | None]:
    if isinstance(value, str) and "*" in value:
        width, _, height = value.partition("*")
        if width.isdigit() and height.isdigit():
            return int(width), int(height)
    return None, None


def parse_task(body: Mapping[str, Any], *, provider: str = DashScopeAdapter.name) -> PollResult:
    """Map a ``GET /tasks/{id}`` answer to a PollResult; unknown statuses raise."""
    output = expect_mapping(body.get("output"), what="output", provider=provider)
    status = output.get("task_status")
    if not isinstance(status, str):
        raise MalformedResponseError("output.task_status is missing", provider=provider)
    state = STATUS_MAP.get(status)
    if state is None:
        raise UnknownStatusError(f"unknown DashScope task_status {status!r}", provider=provider, code=status)
    if state == ProviderState.SUCCEEDED:
        url = output.get("video_url")
        if not isinstance(url, str) or not url:
            raise MalformedResponseError("SUCCEEDED without output.video_url", provider=provider)
        raw_usage = body.get("usage")
        usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, Mapping) else {}
        billed = usage.get("duration")
        width, height = _size(usage.get("size"))
        audio = usage.get("audio")
        return PollResult(
            state=state,
            raw_status=status,
            output_url=url,
            billed_seconds=float(billed) if isinstance(billed, int | float) and not isinstance(billed, bool) else None,
            width=width,
            height=height,
            has_audio=audio if isinstance(audio, bool) else None,
        )
    if state == ProviderState.FAILED:
        code = str(output.get("code") or "")
        return PollResult(
            state=ProviderState.MODERATED if code == MODERATION_CODE else state,
            raw_status=status,
            error_code=code,
            error_message=str(output.get("message") or ""),
        )
    return PollResult(state=state, raw_status=status)
