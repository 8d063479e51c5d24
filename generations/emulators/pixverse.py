"""PixVerse Platform (providers.md §1) under ``/pixverse``: ``/openapi/v2/...`` as ``https://app-api.pixverse.ai``.

- ``POST /openapi/v2/image/upload``: multipart ``image`` or form ``image_url`` → ``Resp {img_id, img_url}``
- ``POST /openapi/v2/video/{text|img|fusion}/generate`` → ``Resp {video_id, credits}``
- ``GET /openapi/v2/video/result/{video_id}``: status 5 generating (queued or running), 1 success (``url`` set),
  7 moderation failed (credits refunded), 8 failed
- ``GET /openapi/v2/account/balance`` → ``Resp {account_id, credit_monthly, credit_package}``

Envelope ``{"ErrCode", "ErrMsg", "Resp"}``; business errors come inside HTTP 200: 400013 invalid binding (missing
field or wrong type), 400017 invalid parameter (bad value, ``motion_mode``/``camera_movement``, unknown img_id,
unreachable ``image_url``, missing ``Ai-trace-id``), 500044 concurrency limit reached (default 5 active jobs per
account; nothing is queued). A bad ``API-KEY`` answers HTTP 401 with ErrCode 10003 [I: undocumented].
Ids are int64 above 2^53 (JavaScript clients must keep them as strings).

``Ai-trace-id`` reuse, the docs' "top cause of a job stuck in generating": a create whose trace id this account
already used for a create is accepted (a new video_id) but that job stays at status 5 for ever. Reads may reuse ids.

Webhooks (providers.md §10): a webhook is created in PixVerse's console (here: ``pixverse_webhook_id`` with its
``pixverse_webhook_url`` and ``pixverse_webhook_secret``) and a t2v or i2v generate body names it as ``webhook_id``
(an unknown id, or one on a fusion body, is 400017). When such a job ends, its final result ``Resp`` is delivered,
signed as documented (``webhooks.sign_pixverse``).
"""

from __future__ import annotations

import io
import json
import secrets
import threading
from typing import Any

from PIL import Image
from werkzeug.wrappers import Request, Response

from generations.emulators.app import json_response, request_json
from generations.emulators.faults import RETRY_AFTER_SECONDS
from generations.emulators.media import InputError, load_image
from generations.emulators.provider import (
    Invalid,
    JobDraft,
    ProviderEmulator,
    Route,
    check_prompt_refs,
    get_bool,
    get_choice,
    get_int,
    get_str,
    i2v_dimensions,
    iso_utc,
    require_dict,
)
from generations.emulators.store import Job, JobState, Outcome
from generations.emulators.webhooks import Delivery, sign_pixverse
from generations.providers.base import ASPECT_RATIOS, MAX_REFERENCES, REFERENCE_TYPES, RESOLUTIONS, SEED_MAX, Mode
from generations.providers.dimensions import SHORT_SIDES, output_dimensions

ID_BASE = 1 << 62  # ids above 2**53, as the real int64 ids are
MODELS = ("c1", "v6", "v5.6", "v5.5", "v5", "v4.5", "v4", "v3.5")
KINDS = {"text": Mode.TEXT_TO_VIDEO, "img": Mode.IMAGE_TO_VIDEO, "fusion": Mode.REFERENCE_TO_VIDEO}
STATUS = {
    JobState.QUEUED: 5,
    JobState.RUNNING: 5,
    JobState.SUCCEEDED: 1,
    JobState.MODERATED: 7,
    JobState.FAILED: 8,
    JobState.CANCELED: 8,
}
#: Credits per second without/with audio (providers.md "Pricing", $1 = 200 credits).
CREDITS_PER_SECOND = {"360p": (6, 8), "540p": (8, 10), "720p": (10, 13), "1080p": (19, 24)}
STARTING_CREDITS = 100_000
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}


def envelope(resp: Any, code: int = 0, message: str = "success") -> dict[str, Any]:
    return {"ErrCode": code, "ErrMsg": message, "Resp": resp}


def business_error(code: int, message: str, status: int = 200) -> Response:
    return json_response(envelope({}, code, message), status)


def credits_for(resolution: str, duration: int, audio: bool) -> int:
    return CREDITS_PER_SECOND[resolution][1 if audio else 0] * duration


class PixVerseEmulator(ProviderEmulator):
    name = "pixverse"
    api_prefix = "/openapi/v2"
    default_concurrency = 5

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._images: dict[int, tuple[str, str]] = {}  # img_id -> (account, upload id)
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            ("/openapi/v2/image/upload", ["POST"], self.upload, "other"),
            ("/openapi/v2/video/<any(text,img,fusion):kind>/generate", ["POST"], self.generate, "create"),
            ("/openapi/v2/video/result/<video_id>", ["GET"], self.result, "poll"),
            ("/openapi/v2/account/balance", ["GET"], self.balance, "other"),
        ]

    # ------------------------------------------------------------------ shared answers

    def authenticate(self, request: Request) -> str | Response:
        key = request.headers.get("API-KEY", "").strip()
        if not self.check_key(key):
            return business_error(10003, "API key is invalid", 401)
        if not request.headers.get("Ai-trace-id", "").strip():
            return business_error(400017, "Invalid parameter: Ai-trace-id header is required")
        return key

    def refusal(self, fault: str) -> Response:
        if fault == "nocredits":
            return business_error(500043, "All Credits have been used up. Please purchase credits.")
        if fault == "rejected":
            return business_error(500054, "The content you submitted was rejected.")
        if fault == "busy":
            return business_error(500044, "Reached the limit for concurrent generations.")
        if fault == "ratelimit":
            response = business_error(429, "Too many requests", 429)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        if fault == "error503":
            return business_error(503, "Service unavailable", 503)
        if fault == "fail200":
            return business_error(500001, "Internal error, please try again later")
        return business_error(500, "Internal server error", 500)

    def malformed(self) -> Response:
        return Response('{"ErrCode":0,"ErrMsg":"success","Resp":{"vid', status=200, mimetype="application/json")

    # ------------------------------------------------------------------ upload and balance

    def upload(self, request: Request) -> Response:
        account = self.authenticate(request)
        if isinstance(account, Response):
            return account
        file = request.files.get("image")
        image_url = request.form.get("image_url", "")
        if file is None and not image_url:
            return business_error(400013, "Invalid binding request: one of image or image_url is required")
        if file is not None:
            data, filename = file.read(), file.filename or "image"
        else:
            try:
                data, _size = load_image(
                    image_url,
                    store=self.app.store,
                    transport=self.app.config.fetch_transport,
                    timeout=self.app.config.fetch_timeout_seconds,
                )
            except InputError as exc:
                return business_error(400017, f"Invalid parameter: {exc}")
            filename = image_url.rsplit("/", 1)[-1] or "image"
        try:
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format or ""
                width, height = image.size
        except Exception:  # Pillow raises several types for non-images
            image_format, width, height = "", 0, 0
        if image_format not in IMAGE_FORMATS:
            return business_error(400017, "Invalid parameter: image must be jpg, jpeg, png or webp")
        if max(width, height) > 10_000 or len(data) >= 20 * 1024 * 1024:
            return business_error(400017, "Invalid parameter: image exceeds 20 MB or 10000 px")
        stored = self.app.store.add_upload(data, Image.MIME[image_format], filename)
        img_id = ID_BASE + self.app.store.next_sequence()
        with self._lock:
            self._images[img_id] = (account, stored.id)
        return json_response(envelope({"img_id": img_id, "img_url": self.upload_url(request, stored.id, filename)}))

    def balance(self, request: Request) -> Response:
        account = self.authenticate(request)
        if isinstance(account, Response):
            return account
        with self.app.store.lock:
            spent = sum(
                job.extra.get("credits", 0)
                for job in self.app.store.jobs.values()
                if job.provider == self.name and job.account == account and job.state is not JobState.MODERATED
            )
        account_id = int.from_bytes(account.encode()[:6].ljust(6, b"\0"), "big")
        return json_response(
            envelope({"account_id": account_id, "credit_monthly": 0, "credit_package": STARTING_CREDITS - spent})
        )

    # ------------------------------------------------------------------ generate

    def generate(self, request: Request, kind: str) -> Response:
        body = request_json(request)
        return self.app.create(
            self,
            request,
            lambda account: self._draft(request, account, KINDS[kind], body),
            self._generate_answer,
        )

    def _draft(self, request: Request, account: str, mode: Mode, body: Any) -> JobDraft | Response:
        try:
            body = require_dict(body)
            for forbidden in ("motion_mode", "camera_movement"):
                if forbidden in body:
                    raise Invalid(f"{forbidden} is not supported by this model")
            model = get_choice(body, "model", MODELS, None)
            prompt = get_str(body, "prompt", required=True)
            if len(prompt) > (5000 if mode is Mode.TEXT_TO_VIDEO else 2048):
                raise Invalid("prompt is too long")
            negative = get_str(body, "negative_prompt")
            if len(negative) > 2048:
                raise Invalid("negative_prompt is too long")
            duration = get_int(body, "duration", default=None, low=1, high=15)
            if duration is None:
                raise Invalid("duration is required", code="missing")
            quality = get_choice(body, "quality", RESOLUTIONS, None)
            audio = get_bool(body, "generate_audio_switch")
            seed = get_int(body, "seed", default=None, low=0, high=SEED_MAX)
            webhook_id = get_str(body, "webhook_id")
            if webhook_id:
                if mode is Mode.REFERENCE_TO_VIDEO:
                    raise Invalid("webhook_id is supported for text-to-video and image-to-video only")
                if webhook_id != self.app.config.pixverse_webhook_id:
                    raise Invalid(f"webhook_id {webhook_id} not found")
            aspect_ratio: str | None = None
            image_ids: list[int] = []
            if mode is Mode.IMAGE_TO_VIDEO:
                img_id = body.get("img_id")
                if img_id is None:
                    raise Invalid("img_id is required", code="missing")
                if isinstance(img_id, bool) or not isinstance(img_id, int):
                    raise Invalid("img_id must be an integer", code="type")
                image_ids = [img_id]
            else:
                aspect_ratio = get_choice(body, "aspect_ratio", ASPECT_RATIOS, None)
            if mode is Mode.REFERENCE_TO_VIDEO:
                refs = _references(body.get("image_references"))
                check_prompt_refs(prompt, [ref["ref_name"] for ref in refs])
                image_ids = [ref["img_id"] for ref in refs]
            images = tuple(self._image_bytes(account, img_id) for img_id in image_ids)
        except Invalid as exc:
            code = 400013 if exc.code in ("missing", "type") else 400017
            label = "Invalid binding request" if code == 400013 else "Invalid parameter"
            return business_error(code, f"{label}: {exc.message}")
        if mode is Mode.IMAGE_TO_VIDEO:
            size = Image.open(io.BytesIO(images[0])).size
            width, height, aspect_ratio = i2v_dimensions(quality, size)
        else:
            width, height = output_dimensions(quality, aspect_ratio or "16:9")
        trace_id = request.headers.get("Ai-trace-id", "")
        outcome = Outcome.SUCCEED
        with self._lock:
            if (account, trace_id) in self.app.store.used_trace_ids:
                outcome = Outcome.NEVER  # the documented "stuck in generating" symptom
            self.app.store.used_trace_ids.add((account, trace_id))
        return JobDraft(
            id=str(ID_BASE + self.app.store.next_sequence()),
            mode=mode,
            model=model,
            prompt=prompt,
            resolution=quality,
            duration=duration,
            width=width,
            height=height,
            audio=audio,
            aspect_ratio=aspect_ratio,
            images=images,
            seed=seed,
            outcome=outcome,
            extra={
                "negative_prompt": negative,
                "trace_id": trace_id,
                "webhook_id": webhook_id,
                "credits": credits_for(quality, duration, audio),
                "base_url": self.base_url(request),
            },
        )

    def _image_bytes(self, account: str, img_id: int) -> bytes:
        with self._lock:
            entry = self._images.get(img_id)
        upload = self.app.store.get_upload(entry[1]) if entry and entry[0] == account else None
        if upload is None:
            raise Invalid(f"img_id {img_id} not found")
        return upload.data

    def _generate_answer(self, job: Job) -> Response:
        return json_response(envelope({"video_id": int(job.id), "credits": job.extra["credits"]}))

    # ------------------------------------------------------------------ result

    def result(self, request: Request, video_id: str) -> Response:
        if not video_id.isdigit():
            return business_error(400013, "Invalid binding request: video_id must be an integer")

        def answer(job: Job | None) -> Response:
            if job is None:
                return business_error(400017, f"Invalid parameter: video {video_id} not found")
            return json_response(envelope(self.view(self.base_url(request), job)))

        return self.app.poll(self, request, video_id, answer)

    def view(self, base: str, job: Job) -> dict[str, Any]:
        done = job.state is JobState.SUCCEEDED
        return {
            "id": int(job.id),
            "status": STATUS[job.state],
            "url": f"{base}/files/{job.id}.mp4" if done else "",
            "prompt": job.prompt,
            "negative_prompt": job.extra.get("negative_prompt", ""),
            "seed": job.seed if job.seed is not None else int(job.id) % 2_147_483_647,
            "outputWidth": job.width,
            "outputHeight": job.height,
            "resolution_ratio": SHORT_SIDES[job.resolution],
            "size": self.app.output_size(job) if done else 0,
            "style": "",
            "create_time": iso_utc(job.created_at),
            "modify_time": iso_utc(job.finished_at or job.started_at or job.created_at),
            "has_audio": job.audio,
            # Moderated (documented) and failed [I] jobs are refunded; ``/_control/billing`` can report otherwise.
            "credits": job.extra.get(
                "reported_credits", 0 if job.state in (JobState.MODERATED, JobState.FAILED) else job.extra["credits"]
            ),
            "cover_url": "",
        }

    # ------------------------------------------------------------------ webhooks (unverified scheme, behind a flag)

    def wants_webhook(self, job: Job) -> bool:
        return bool(job.extra.get("webhook_id")) and bool(self.app.config.pixverse_webhook_url)

    def on_finished(self, job: Job) -> None:
        """Deliver the job's final status to the URL registered for its ``webhook_id`` (t2v and i2v only)."""
        url = self.app.config.pixverse_webhook_url
        if not url or not job.extra.get("webhook_id") or job.state is JobState.CANCELED:
            return
        fields = self.view(job.extra["base_url"], job)
        body = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = str(int(self.app.clock.now()))
        nonce = secrets.token_hex(16)  # 32 characters, as documented
        headers = {
            "Content-Type": "application/json",
            "Webhook-Timestamp": timestamp,
            "Webhook-Nonce": nonce,
            "Webhook-Signature": sign_pixverse(self.app.config.pixverse_webhook_secret, timestamp, nonce, fields),
            "Ai-Trace-Id": job.extra.get("trace_id", ""),
        }
        self.app.webhooks.send(Delivery(provider=self.name, url=url, headers=headers, body=body))


def _references(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise Invalid("image_references is required", code="missing")
    if len(value) > MAX_REFERENCES:
        raise Invalid(f"image_references accepts at most {MAX_REFERENCES} items")
    refs: list[dict[str, Any]] = []
    for item in value:
        item = require_dict(item, "each image reference")
        img_id = item.get("img_id")
        if isinstance(img_id, bool) or not isinstance(img_id, int):
            raise Invalid("img_id must be an integer", code="type")
        ref_name = get_str(item, "ref_name", required=True)
        if len(ref_name.encode()) > 30:
            raise Invalid("ref_name is longer than 30 bytes")
        refs.append({"img_id": img_id, "type": get_choice(item, "type", REFERENCE_TYPES, None), "ref_name": ref_name})
    if len({ref["ref_name"] for ref in refs}) != len(refs):
        raise Invalid("ref_name must be unique")
    return refs
