"""HighwayAPI adapter — providers.md §4 (same platform as JieKou; Novita/PPIO-style async contract).

Quirks handled here:
- Statuses are ``TASK_STATUS_*``; the failure reason is free text in ``task.reason`` (moderation guessed from it [I]).
- The output URL is signed and short-lived (``video_url_ttl``, 3600 s): it is returned in ``output_url_ttl`` so the
  pipeline downloads at once.
- Error bodies are undocumented (perhaps ``{code, reason, message}`` [I]); 429/503 are retried, the rest permanent.

Image-to-video (providers.md §10): ``POST /v3/async/pixverse-c1-image-to-video`` with ``image`` = a URL whose path
ends in ``.jpg``, ``.jpeg`` or ``.png`` (no WEBP). ``check_supported`` refuses a WEBP image (or a URL without one of
those endings) before any request, with a message saying so: ``auto`` then routes the job elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import urlsplit

from generations.providers.base import (
    Capabilities,
    CreateRequest,
    JobSpec,
    Mode,
    PollResult,
    ProviderAdapter,
    ProviderState,
    SubmitResult,
    is_moderation_message,
)
from generations.providers.dimensions import DEFAULT_ASPECT_RATIO
from generations.providers.errors import (
    AccountExhaustedError,
    MalformedResponseError,
    PermanentError,
    ProviderError,
    UnknownStatusError,
    UnsupportedFeatureError,
)
from generations.providers.http import HttpAnswer, ProviderHttp, expect_mapping, expect_str

CREATE_PATHS: dict[Mode, str] = {
    Mode.REFERENCE_TO_VIDEO: "/async/pixverse-pixverse-c1-reference-to-video",
    Mode.TEXT_TO_VIDEO: "/async/pixverse-c1-text-to-video",
    Mode.IMAGE_TO_VIDEO: "/async/pixverse-c1-image-to-video",
}
#: The only image URL endings HighwayAPI's i2v accepts (docs.jiekou.ai reference-pixverse-c1-image-to-video).
I2V_IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png")
I2V_CONTENT_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png"})
RESULT_PATH = "/async/task-result"

#: HighwayAPI ``task.status`` → normalized state [T].
STATUS_MAP: dict[str, ProviderState] = {
    "TASK_STATUS_QUEUED": ProviderState.QUEUED,
    "TASK_STATUS_PROCESSING": ProviderState.RUNNING,
    "TASK_STATUS_SUCCEED": ProviderState.SUCCEEDED,
    "TASK_STATUS_FAILED": ProviderState.FAILED,
}


def read_highway_error(data: Any) -> tuple[str, str]:
    """``{code, reason, message}`` [I]: ``reason`` holds the symbolic name (e.g. NOT_ENOUGH_BALANCE)."""
    if isinstance(data, Mapping):
        code = data.get("reason") or data.get("code") or ""
        return str(code), str(data.get("message") or "")
    return "", ""


class HighwayAdapter(ProviderAdapter):
    name: ClassVar[str] = "highway"
    label: ClassVar[str] = "HighwayAPI"
    api_base_url: ClassVar[str] = "https://api.highwayapi.ai/v3"
    emulator_path: ClassVar[str] = "/highway/v3"
    env_prefix: ClassVar[str] = "HIGHWAY"
    default_concurrency: ClassVar[int] = 4
    routing_rank: ClassVar[int] = 3
    capabilities: ClassVar[Capabilities] = Capabilities(
        modes=frozenset(Mode),
        prompt_required=frozenset(Mode),
        notes=("Image-to-video takes JPEG or PNG only (no WEBP).", "Output URLs expire after ~1 h."),
    )

    def check_supported(self, spec: JobSpec) -> None:
        super().check_supported(spec)
        if spec.mode == Mode.IMAGE_TO_VIDEO and spec.image is not None:
            image = spec.image
            path = urlsplit(image.provider_ref or image.url).path.lower()
            if image.content_type.lower() not in I2V_CONTENT_TYPES or not path.endswith(I2V_IMAGE_SUFFIXES):
                kind = image.content_type.split("/")[-1].upper() or "unknown"
                raise UnsupportedFeatureError(
                    provider=self.name,
                    option="image",
                    detail=f"image-to-video takes only JPEG or PNG images (.jpg/.jpeg/.png), and this image is "
                    f"{kind}; convert it to PNG or JPEG, or choose another provider",
                )

    @cached_property
    def _http(self) -> ProviderHttp:
        return ProviderHttp(
            provider=self.name,
            base_url=self.config.base_url,
            headers={"Authorization": f"Bearer {self.config.api_key}"},
            read_error=read_highway_error,
            map_error=self._map_http_error,
        )

    def _map_http_error(self, answer: HttpAnswer, is_create: bool) -> ProviderError | None:
        code, message = read_highway_error(answer.data)
        if code == "NOT_ENOUGH_BALANCE":
            return AccountExhaustedError(message or code, provider=self.name, code=code, http_status=answer.status_code)
        return None

    def build_body(self, spec: JobSpec) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": spec.prompt,
            "duration": spec.duration,
            "resolution": spec.resolution,
            "aspect_ratio": spec.aspect_ratio or DEFAULT_ASPECT_RATIO,
            "generate_audio_switch": spec.generate_audio_switch,
        }
        if spec.mode == Mode.IMAGE_TO_VIDEO:
            del body["aspect_ratio"]  # i2v follows the image
            if spec.image is None:
                raise PermanentError("image-to-video without an image", provider=self.name, code="no_image")
            body["image"] = self.upload_image(spec.image)
        if spec.mode == Mode.REFERENCE_TO_VIDEO:
            body["images"] = [
                {"type": ref.type, "ref_name": ref.ref_name, "image_url": self.upload_image(ref.image)}
                for ref in spec.references
            ]
        return body

    def build_create(self, spec: JobSpec) -> CreateRequest:
        return CreateRequest(CREATE_PATHS[spec.mode], self.build_body(spec))

    def send_create(self, spec: JobSpec, request: CreateRequest) -> HttpAnswer:
        return self._http.request(
            "POST", request.path, json=request.json, is_create=True, idempotency_key=str(spec.job_id)
        )

    def parse_created(self, answer: HttpAnswer) -> SubmitResult:
        body = expect_mapping(answer.data, what="response", provider=self.name)
        task_id = expect_str(body, "task_id", what="response", provider=self.name)
        return SubmitResult(provider_job_id=task_id, state=ProviderState.QUEUED)

    def poll(self, provider_job_id: str) -> PollResult:
        answer = self._http.request("GET", RESULT_PATH, params={"task_id": provider_job_id})
        return parse_task_result(expect_mapping(answer.data, what="response", provider=self.name), provider=self.name)

    def cancel(self, provider_job_id: str) -> bool:
        raise UnsupportedFeatureError(provider=self.name, option="cancel", detail="HighwayAPI has no cancel API")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def parse_task_result(body: Mapping[str, Any], *, provider: str = HighwayAdapter.name) -> PollResult:
    """Map a task-result answer to a PollResult; unknown statuses raise."""
    task = expect_mapping(body.get("task"), what="task", provider=provider)
    status = task.get("status")
    if not isinstance(status, str):
        raise MalformedResponseError("task.status is missing", provider=provider)
    state = STATUS_MAP.get(status)
    if state is None:
        raise UnknownStatusError(f"unknown HighwayAPI status {status!r}", provider=provider, code=status)
    if state == ProviderState.SUCCEEDED:
        videos = body.get("videos")
        video = videos[0] if isinstance(videos, list) and videos else None
        if not isinstance(video, Mapping) or not isinstance(video.get("video_url"), str) or not video["video_url"]:
            raise MalformedResponseError("TASK_STATUS_SUCCEED without videos[0].video_url", provider=provider)
        return PollResult(
            state=state,
            raw_status=status,
            output_url=video["video_url"],
            output_url_ttl=_number(video.get("video_url_ttl")),
        )
    if state == ProviderState.FAILED:
        reason = str(task.get("reason") or "")
        return PollResult(
            state=ProviderState.MODERATED if is_moderation_message(reason) else state,
            raw_status=status,
            error_message=reason,
        )
    return PollResult(state=state, raw_status=status)
