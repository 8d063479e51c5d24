"""WaveSpeed adapter — providers.md §2.

Quirks handled here:
- Every answer is wrapped as ``{"code": 200, "message": ..., "data": {...}}``; a non-200 envelope code is an error.
- Task error codes (``data.code``): 1200 moderation; 14xx permanent (fix the input); 5xxx transient (marked
  not resubmitted: a resubmit is a new paid create).
- ``has_nsfw_contents`` with any true entry means the output was flagged: MODERATED with ``nsfw=True``.
- Images with bytes and no cached handle go through ``POST /media/upload/binary`` (free) → ``download_url``.
- ``?webhook=<url>`` on submit when ``spec.webhook_url`` is set.
- No seed and no negative prompt for C1.
- ``find_created`` reconciles an ambiguous create through the prediction list (``POST /predictions`` with ``model``,
  ``created_after``/``created_before`` and ``page``; providers.md §10): the predictions of the job's model created
  around the send whose ``input.prompt`` is the job's prompt. The answer's shape is undocumented [I]: the rows are
  read from ``data.items`` (or ``data`` itself when it is a list), each a prediction object; times are ISO 8601 UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar

from generations.providers import webhooks
from generations.providers.base import (
    Capabilities,
    CreateRequest,
    ImageInput,
    JobSpec,
    Mode,
    PollResult,
    ProviderAdapter,
    ProviderState,
    SubmitResult,
)
from generations.providers.dimensions import DEFAULT_ASPECT_RATIO
from generations.providers.errors import (
    MalformedResponseError,
    ModerationError,
    PermanentError,
    ProviderError,
    RateLimitedError,
    TransientError,
    UnknownStatusError,
)
from generations.providers.http import HttpAnswer, ProviderHttp, expect_mapping, expect_str

MODEL_PATH = "/pixverse/pixverse-c1"
CREATE_SLUGS: dict[Mode, str] = {
    Mode.IMAGE_TO_VIDEO: "image-to-video",
    Mode.REFERENCE_TO_VIDEO: "reference-to-video",
    Mode.TEXT_TO_VIDEO: "text-to-video",
}
MODERATION_CODE = 1200
#: Window searched around the send time of an ambiguous create (clock skew before; the create's own time after).
FIND_BEFORE = timedelta(minutes=2)
FIND_AFTER = timedelta(minutes=10)
FIND_PAGE_SIZE = 100
FIND_MAX_PAGES = 5

#: WaveSpeed ``data.status`` → normalized state [D]. ``completed`` and ``failed`` are refined by ``parse_prediction``.
STATUS_MAP: dict[str, ProviderState] = {
    "created": ProviderState.QUEUED,
    "processing": ProviderState.RUNNING,
    "completed": ProviderState.SUCCEEDED,
    "failed": ProviderState.FAILED,
}


def _int_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def code_error(code: int, message: str, *, provider: str, http_status: int | None = None) -> ProviderError:
    """The error class for a WaveSpeed envelope or task code (HTTP-like 4xx/5xx or the 1xxx/5xxx task codes)."""
    kwargs: dict[str, Any] = {"provider": provider, "code": str(code), "http_status": http_status}
    if code == MODERATION_CODE:
        return ModerationError(message, **kwargs)
    if code == 429:
        return RateLimitedError(message, **kwargs)
    if code >= 5000 or 500 <= code < 600:
        return TransientError(message, **kwargs)
    return PermanentError(message, **kwargs)


class WaveSpeedAdapter(ProviderAdapter):
    name: ClassVar[str] = "wavespeed"
    label: ClassVar[str] = "WaveSpeed"
    api_base_url: ClassVar[str] = "https://api.wavespeed.ai/api/v3"
    emulator_path: ClassVar[str] = "/wavespeed/api/v3"
    env_prefix: ClassVar[str] = "WAVESPEED"
    default_concurrency: ClassVar[int] = 2  # Bronze tier
    routing_rank: ClassVar[int] = 1  # its published USD table is our rate card: never below it
    emulator_webhook_secret: ClassVar[str] = "whsec_ZW11bGF0b3Itd2F2ZXNwZWVkLXNlY3JldA"  # noqa: S105 - dev default

    @classmethod
    def verify_webhook(cls, *, body: bytes, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
        return webhooks.verify_wavespeed(body=body, headers=headers, secret=secret)

    @classmethod
    def webhook_job_id(cls, payload: Mapping[str, Any]) -> str:
        return webhooks.webhook_job_id(provider=cls.name, payload=payload)

    capabilities: ClassVar[Capabilities] = Capabilities(
        modes=frozenset(Mode), prompt_required=frozenset(Mode), webhooks=True
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
        # A task-level code (1200/14xx) in an error body is more precise than the HTTP status; 429/5xx keep the
        # seam's defaults (Retry-After; ambiguity of a 504 on create).
        code = _int_code(answer.data.get("code")) if isinstance(answer.data, Mapping) else None
        if code is not None and 1000 <= code < 2000 and answer.status_code < 500 and answer.status_code != 429:
            message = str(answer.data.get("message") or answer.data.get("error") or f"code {code}")
            return code_error(code, message, provider=self.name, http_status=answer.status_code)
        return None

    def _data(self, answer: HttpAnswer) -> Mapping[str, Any]:
        body = expect_mapping(answer.data, what="response", provider=self.name)
        code = _int_code(body.get("code"))
        if code is None:
            raise MalformedResponseError("envelope has no integer code", provider=self.name)
        if code != 200:
            message = str(body.get("message") or f"code {code}")
            raise code_error(code, message, provider=self.name, http_status=answer.status_code)
        return expect_mapping(body.get("data"), what="data", provider=self.name)

    def upload_image(self, image: ImageInput) -> str:
        """A URL WaveSpeed can fetch: the cached handle, an upload of ``content``, or the image's own URL."""
        if image.provider_ref:
            return image.provider_ref
        if image.content is not None:
            answer = self._http.request(
                "POST", "/media/upload/binary", files={"file": (image.filename, image.content, image.content_type)}
            )
            return expect_str(self._data(answer), "download_url", what="upload data", provider=self.name)
        if image.url:
            return image.url
        raise PermanentError("image has neither content nor URL", provider=self.name, code="no_image")

    def build_body(self, spec: JobSpec) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": spec.prompt,
            "resolution": spec.resolution,
            "duration": spec.duration,
            "generate_audio_switch": spec.generate_audio_switch,
        }
        if spec.mode == Mode.IMAGE_TO_VIDEO:
            if spec.image is None:
                raise PermanentError("image-to-video without an image", provider=self.name, code="no_image")
            body["image"] = self.upload_image(spec.image)
        else:
            body["aspect_ratio"] = spec.aspect_ratio or DEFAULT_ASPECT_RATIO
        if spec.mode == Mode.REFERENCE_TO_VIDEO:
            body["images"] = [
                {"image_url": self.upload_image(ref.image), "type": ref.type, "ref_name": ref.ref_name}
                for ref in spec.references
            ]
        return body

    def build_create(self, spec: JobSpec) -> CreateRequest:
        return CreateRequest(
            f"{MODEL_PATH}/{CREATE_SLUGS[spec.mode]}",
            self.build_body(spec),
            params={"webhook": spec.webhook_url} if spec.webhook_url else None,
        )

    def send_create(self, spec: JobSpec, request: CreateRequest) -> HttpAnswer:
        return self._http.request(
            "POST",
            request.path,
            json=request.json,
            params=request.params,
            is_create=True,
            idempotency_key=str(spec.job_id),
        )

    def parse_created(self, answer: HttpAnswer) -> SubmitResult:
        data = self._data(answer)
        prediction_id = expect_str(data, "id", what="data", provider=self.name)
        status = str(data.get("status") or "created")
        return SubmitResult(
            provider_job_id=prediction_id, state=STATUS_MAP.get(status, ProviderState.QUEUED), raw_status=status
        )

    def model_for(self, mode: Mode) -> str:
        """The model id WaveSpeed files predictions under (the create path without its leading slash)."""
        return f"{MODEL_PATH.strip('/')}/{CREATE_SLUGS[mode]}"

    def find_created(self, spec: JobSpec, *, sent_at: datetime) -> list[str]:
        """Prediction ids that may be ``spec``'s create sent at ``sent_at`` (module docstring). Sends nothing billable;
        raises ``TransientError`` when the window holds more predictions than we read."""

        def stamp(moment: datetime) -> str:
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        query: dict[str, Any] = {
            "model": self.model_for(spec.mode),
            "created_after": stamp(sent_at - FIND_BEFORE),
            "created_before": stamp(sent_at + FIND_AFTER),
            "page_size": FIND_PAGE_SIZE,
        }
        found: list[str] = []
        for page in range(1, FIND_MAX_PAGES + 1):
            data = self._data(self._http.request("POST", "/predictions", json={**query, "page": page}))
            rows = data.get("items") if isinstance(data, Mapping) else None
            if not isinstance(rows, list):
                raise MalformedResponseError("prediction list without an items array", provider=self.name)
            for row in rows:
                prediction = expect_mapping(row, what="prediction list row", provider=self.name)
                prediction_id = expect_str(prediction, "id", what="prediction list row", provider=self.name)
                raw_input = prediction.get("input")
                prompt = raw_input.get("prompt") if isinstance(raw_input, Mapping) else None
                if prompt == spec.prompt:
                    found.append(prediction_id)
            if len(rows) < FIND_PAGE_SIZE:
                return found
        raise TransientError(
            f"more than {FIND_MAX_PAGES * FIND_PAGE_SIZE} predictions around the send time; cannot tell",
            provider=self.name,
        )

    def poll(self, provider_job_id: str) -> PollResult:
        answer = self._http.request("GET", f"/predictions/{provider_job_id}/result")
        return parse_prediction(self._data(answer), provider=self.name)


def parse_prediction(data: Mapping[str, Any], *, provider: str = WaveSpeedAdapter.name) -> PollResult:
    """Map one prediction object (poll ``data`` or webhook body) to a PollResult; unknown statuses raise."""
    status = data.get("status")
    if not isinstance(status, str):
        raise MalformedResponseError("data.status is missing", provider=provider)
    state = STATUS_MAP.get(status)
    if state is None:
        raise UnknownStatusError(f"unknown WaveSpeed status {status!r}", provider=provider, code=status)
    flags = data.get("has_nsfw_contents") or []
    nsfw = isinstance(flags, list) and any(flag is True for flag in flags)
    error_message = str(data.get("error") or "")
    code = _int_code(data.get("code"))
    if state == ProviderState.SUCCEEDED:
        outputs = data.get("outputs")
        if not isinstance(outputs, list) or not outputs or not isinstance(outputs[0], str) or not outputs[0]:
            raise MalformedResponseError("completed prediction without outputs[0]", provider=provider)
        # A flagged output is still delivered: the pipeline saves it hidden and opens a review case (issue 8).
        return PollResult(
            state=state,
            raw_status=status,
            output_url=outputs[0],
            nsfw=nsfw,
            error_code="nsfw" if nsfw else "",
            error_message="output flagged NSFW" if nsfw else "",
        )
    if state == ProviderState.FAILED:
        moderated = code == MODERATION_CODE or nsfw
        return PollResult(
            state=ProviderState.MODERATED if moderated else state,
            raw_status=status,
            nsfw=nsfw,
            error_code="" if code is None else str(code),
            error_message=error_message,
        )
    return PollResult(state=state, raw_status=status)
