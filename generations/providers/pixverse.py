"""PixVerse Platform (direct) adapter — providers.md §1.

Quirks handled here:
- ``API-KEY`` header plus a fresh ``Ai-trace-id`` UUID on *every* request (a reused trace id leaves jobs stuck).
  The create's one is ``JobSpec.trace_id``, minted and stored by the pipeline before the paid call (fresh for each
  send); polls and uploads mint their own. It is echoed in ``SubmitResult.trace_id``.
- Errors arrive inside HTTP 200 as ``{"ErrCode": n, "ErrMsg": ...}``, decided by code (providers.md §10): 400xxx →
  PermanentError, 500044 → ConcurrencyFullError, 500043/500090 (the account has no credits) →
  AccountExhaustedError, 500054/500063 (content rejected) → ModerationError, other 5xxxxx → TransientError. Only a
  code outside those lists falls back to reading the message for moderation words.
- int64 ids (``video_id``, ``img_id``) are kept as decimal strings in our dataclasses.
- Images are uploaded first (``/image/upload`` → ``img_id``), once per image and account: ``ImageInput.provider_ref``
  when the caller has the id, else the shared upload cache (``generations.providers.uploads``). A create refused
  with 400017 while it used cached ids forgets them and raises TransientError, so the retry uploads afresh.
- Webhooks: ``webhook_id`` (``PIXVERSE_WEBHOOK_ID``, created in PixVerse's console) goes in t2v and i2v generate
  bodies when a webhook secret is configured; deliveries are verified by ``webhooks.verify_pixverse``.
- Status 2 (reported as "failed" by one third-party note) is deliberately *not* mapped: it raises UnknownStatusError
  so a job is never failed (and its hold released) on an unconfirmed reading.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

from generations.providers import uploads, webhooks
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
    is_moderation_message,
)
from generations.providers.dimensions import DEFAULT_ASPECT_RATIO
from generations.providers.errors import (
    AccountExhaustedError,
    AmbiguousSubmitError,
    ConcurrencyFullError,
    MalformedResponseError,
    ModerationError,
    PermanentError,
    ProviderError,
    TransientError,
    UnknownStatusError,
    UnsupportedFeatureError,
)
from generations.providers.http import HttpAnswer, ProviderHttp, expect_mapping, expect_str

MODEL = "c1"
CONCURRENCY_FULL = 500044
#: "All Credits have been used up" / insufficient balance: the provider account is empty (permanent for it).
ACCOUNT_EMPTY_CODES = frozenset({500043, 500090})
#: Content rejected (moderation) [third-party, providers.md §10]: by code, whatever the message says.
MODERATION_CODES = frozenset({500054, 500063})
#: "Invalid parameter" — what a create answers for an img_id the account no longer knows.
STALE_IMAGE_CODE = "400017"

#: PixVerse ``Resp.status`` → normalized state. 1/5/7/8 [D]; 6 deleted, 9 queued, 10 processing [T].
STATUS_MAP: dict[int, ProviderState] = {
    1: ProviderState.SUCCEEDED,
    5: ProviderState.RUNNING,
    6: ProviderState.EXPIRED,
    7: ProviderState.MODERATED,
    8: ProviderState.FAILED,
    9: ProviderState.QUEUED,
    10: ProviderState.RUNNING,
}

#: Modes whose generate body takes ``webhook_id`` ("Webhook integration": text- and image-to-video only).
WEBHOOK_MODES = frozenset({Mode.TEXT_TO_VIDEO, Mode.IMAGE_TO_VIDEO})

CREATE_PATHS: dict[Mode, str] = {
    Mode.TEXT_TO_VIDEO: "/video/text/generate",
    Mode.IMAGE_TO_VIDEO: "/video/img/generate",
    Mode.REFERENCE_TO_VIDEO: "/video/fusion/generate",
}


def envelope_error(data: Any, *, provider: str, http_status: int | None = None) -> ProviderError | None:
    """The error a PixVerse envelope carries, or ``None`` when ``ErrCode`` is 0. Never ambiguous: PixVerse answered."""
    body = expect_mapping(data, what="response", provider=provider)
    code = body.get("ErrCode")
    if isinstance(code, bool) or not isinstance(code, int):
        raise MalformedResponseError("response has no integer ErrCode", provider=provider, http_status=http_status)
    if code == 0:
        return None
    message = str(body.get("ErrMsg") or f"ErrCode {code}")
    kwargs: dict[str, Any] = {"provider": provider, "code": str(code), "http_status": http_status}
    if code == CONCURRENCY_FULL:
        return ConcurrencyFullError(message, **kwargs)
    if code in ACCOUNT_EMPTY_CODES:
        return AccountExhaustedError(message, **kwargs)
    if code in MODERATION_CODES or is_moderation_message(message):
        return ModerationError(message, **kwargs)
    if 500000 <= code < 600000:
        return TransientError(message, **kwargs)
    return PermanentError(message, **kwargs)


def read_envelope_error(data: Any) -> tuple[str, str]:
    """(ErrCode, ErrMsg) of an error answer, for the seam's default classification."""
    if isinstance(data, Mapping):
        return str(data.get("ErrCode", "")), str(data.get("ErrMsg", ""))
    return "", ""


class PixVerseAdapter(ProviderAdapter):
    name: ClassVar[str] = "pixverse"
    label: ClassVar[str] = "PixVerse Platform"
    api_base_url: ClassVar[str] = "https://app-api.pixverse.ai/openapi/v2"
    emulator_path: ClassVar[str] = "/pixverse/openapi/v2"
    env_prefix: ClassVar[str] = "PIXVERSE"
    default_concurrency: ClassVar[int] = 2
    routing_rank: ClassVar[int] = 0  # first-party prices, PixVerse's own credit unit
    emulator_webhook_secret: ClassVar[str] = "emulator-pixverse-webhook-secret"  # noqa: S105 - dev default
    emulator_webhook_id: ClassVar[str] = "wh_emulator"

    @classmethod
    def verify_webhook(cls, *, body: bytes, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
        return webhooks.verify_pixverse(body=body, headers=headers, secret=secret)

    @classmethod
    def webhook_job_id(cls, payload: Mapping[str, Any]) -> str:
        return webhooks.webhook_job_id(provider=cls.name, payload=payload)

    capabilities: ClassVar[Capabilities] = Capabilities(
        modes=frozenset(Mode),
        prompt_required=frozenset(Mode),
        seed=True,
        negative_prompt=True,
        webhooks=True,
        client_trace_id=True,
        notes=("Webhooks (t2v and i2v) only prompt a poll; polling stays the source of truth.",),
    )
    webhook_ack_body: ClassVar[str] = "ok"  # "answer HTTP 200 with the body ok; otherwise PixVerse retries"

    @cached_property
    def _http(self) -> ProviderHttp:
        return ProviderHttp(
            provider=self.name,
            base_url=self.config.base_url,
            headers={"API-KEY": self.config.api_key},
            read_error=read_envelope_error,
            map_error=self._map_http_error,
        )

    def _map_http_error(self, answer: HttpAnswer, is_create: bool) -> ProviderError | None:
        # "400/500 status: Incorrect code" [D]: a non-2xx answer may carry the envelope. Its ErrCode decides for
        # 4xx, and always for 500044/moderation; for 429/5xx the HTTP status keeps the seam's meaning (Retry-After,
        # transient, a 504 on create is ambiguous).
        if not (isinstance(answer.data, Mapping) and "ErrCode" in answer.data):
            return None
        error = envelope_error(answer.data, provider=self.name, http_status=answer.status_code)
        if isinstance(error, ConcurrencyFullError | ModerationError | AccountExhaustedError):
            return error
        if answer.status_code in (408, 429) or answer.status_code >= 500:
            return None
        return error

    def _call(self, method: str, path: str, *, trace_id: str = "", **kwargs: Any) -> tuple[Mapping[str, Any], str]:
        trace_id = trace_id or str(uuid.uuid4())
        answer = self._http.request(method, path, headers={"Ai-trace-id": trace_id}, **kwargs)
        is_create = bool(kwargs.get("is_create"))
        try:
            error = envelope_error(answer.data, provider=self.name, http_status=answer.status_code)
        except MalformedResponseError as exc:
            if is_create:
                raise AmbiguousSubmitError(
                    f"{exc.message}; the create may have been accepted", provider=self.name
                ) from exc
            raise
        if error is not None:
            raise error
        resp = answer.data.get("Resp")
        if not isinstance(resp, Mapping):
            if is_create:
                raise AmbiguousSubmitError("ErrCode 0 without a Resp object; reconcile", provider=self.name)
            raise MalformedResponseError("ErrCode 0 without a Resp object", provider=self.name)
        return resp, trace_id

    def upload_image(self, image: ImageInput) -> str:
        """Return the image's ``img_id`` (as text): ``provider_ref``, else the cached id, else a fresh upload."""
        if image.provider_ref:
            return image.provider_ref
        handle, from_cache = uploads.upload_once(
            provider=self.name, api_key=self.config.api_key, sha256=image.sha256, upload=lambda: self._upload(image)
        )
        if from_cache:
            self._cached_shas.add(image.sha256)
        return handle

    @cached_property
    def _cached_shas(self) -> set[str]:
        """SHA-256s whose img_id this adapter took from the upload cache (forgotten if a create refuses them)."""
        return set()

    def _upload(self, image: ImageInput) -> str:
        if image.content is not None:
            resp, _ = self._call(
                "POST", "/image/upload", files={"image": (image.filename, image.content, image.content_type)}
            )
        elif image.url:
            resp, _ = self._call("POST", "/image/upload", data={"image_url": image.url})
        else:
            raise PermanentError("image has neither content nor URL", provider=self.name, code="no_image")
        return expect_str(resp, "img_id", what="upload Resp", provider=self.name)

    def _img_id(self, image: ImageInput) -> int:
        handle = self.upload_image(image)
        if not handle.isdigit():
            raise PermanentError(f"img_id {handle!r} is not an integer", provider=self.name, code="bad_img_id")
        return int(handle)

    def build_body(self, spec: JobSpec) -> dict[str, Any]:
        """The create body for ``spec``. Uploads images that have no cached ``img_id`` (uploads are free)."""
        body: dict[str, Any] = {
            "model": MODEL,
            "prompt": spec.prompt,
            "duration": spec.duration,
            "quality": spec.resolution,
            "generate_audio_switch": spec.generate_audio_switch,
        }
        if spec.mode == Mode.IMAGE_TO_VIDEO:
            if spec.image is None:
                raise PermanentError("image-to-video without an image", provider=self.name, code="no_image")
            body["img_id"] = self._img_id(spec.image)
        else:
            body["aspect_ratio"] = spec.aspect_ratio or DEFAULT_ASPECT_RATIO
        if spec.mode == Mode.REFERENCE_TO_VIDEO:
            body["image_references"] = [
                {"type": ref.type, "img_id": self._img_id(ref.image), "ref_name": ref.ref_name}
                for ref in spec.references
            ]
        if spec.negative_prompt:
            body["negative_prompt"] = spec.negative_prompt
        if self.config.webhook_id and self.config.webhook_secret and spec.mode in WEBHOOK_MODES:
            # The webhook is created in PixVerse's console; each create names it (t2v and i2v only, as documented).
            body["webhook_id"] = self.config.webhook_id
        if spec.seed is not None:
            body["seed"] = spec.seed
        return body

    def build_create(self, spec: JobSpec) -> CreateRequest:
        """The create for ``spec``; uploads images without a cached ``img_id`` first (each with its own trace id)."""
        self._cached_shas.clear()
        return CreateRequest(CREATE_PATHS[spec.mode], self.build_body(spec))

    def send_create(self, spec: JobSpec, request: CreateRequest) -> tuple[Mapping[str, Any], str]:
        """Sent with ``spec.trace_id`` as its ``Ai-trace-id`` (stored by the pipeline before this call; a fresh one is
        minted when empty). A 400017 while cached img_ids were used forgets them and is retried as transient."""
        try:
            return self._call(
                "POST",
                request.path,
                json=request.json,
                is_create=True,
                idempotency_key=str(spec.job_id),
                trace_id=spec.trace_id,
            )
        except PermanentError as exc:
            if isinstance(exc, ModerationError) or exc.code != STALE_IMAGE_CODE or not self._cached_shas:
                raise
            for sha256 in self._cached_shas:
                uploads.forget(provider=self.name, api_key=self.config.api_key, sha256=sha256)
            raise TransientError(
                f"{exc.message} (a cached img_id may be stale; it was forgotten, retry uploads afresh)",
                provider=self.name,
                code=exc.code,
                http_status=exc.http_status,
            ) from exc

    def parse_created(self, answer: tuple[Mapping[str, Any], str]) -> SubmitResult:
        resp, trace_id = answer
        video_id = expect_str(resp, "video_id", what="create Resp", provider=self.name)
        return SubmitResult(provider_job_id=video_id, state=ProviderState.QUEUED, trace_id=trace_id)

    def balance(self) -> int:
        """Credits left on the account (``GET /account/balance``: monthly + package credits). Free, safe to retry."""
        resp, _ = self._call("GET", "/account/balance")
        total = 0
        for key in ("credit_monthly", "credit_package"):
            value = resp.get(key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise MalformedResponseError(f"balance without an integer {key}", provider=self.name)
            total += value
        return total

    def poll(self, provider_job_id: str) -> PollResult:
        resp, _ = self._call("GET", f"/video/result/{provider_job_id}")
        return parse_status(resp, provider=self.name)

    def cancel(self, provider_job_id: str) -> bool:
        raise UnsupportedFeatureError(provider=self.name, option="cancel", detail="PixVerse has no cancel API")


def parse_status(resp: Mapping[str, Any], *, provider: str = PixVerseAdapter.name) -> PollResult:
    """Map one ``Resp`` (status answer or webhook payload) through ``STATUS_MAP``; unknown statuses raise."""
    status = resp.get("status")
    if isinstance(status, bool) or not isinstance(status, int):
        raise MalformedResponseError("Resp.status is missing or not an integer", provider=provider)
    state = STATUS_MAP.get(status)
    if state is None:
        raise UnknownStatusError(f"unknown PixVerse status {status}", provider=provider, code=str(status))
    raw_url = resp.get("url")
    url = raw_url if isinstance(raw_url, str) else ""
    if state == ProviderState.SUCCEEDED and not url:
        raise MalformedResponseError("status 1 without a url", provider=provider)
    width, height = resp.get("outputWidth"), resp.get("outputHeight")
    has_audio = resp.get("has_audio")
    credits = resp.get("credits")
    return PollResult(
        state=state,
        raw_status=str(status),
        output_url=url if state == ProviderState.SUCCEEDED else "",
        error_code=str(status) if state in (ProviderState.FAILED, ProviderState.MODERATED) else "",
        error_message={7: "moderation failed (credits refunded)", 8: "generation failed", 6: "deleted"}.get(status, ""),
        width=width if isinstance(width, int) and width > 0 else None,
        height=height if isinstance(height, int) and height > 0 else None,
        has_audio=has_audio if isinstance(has_audio, bool) else None,
        provider_credits=credits
        if isinstance(credits, int) and not isinstance(credits, bool) and credits >= 0
        else None,
    )
