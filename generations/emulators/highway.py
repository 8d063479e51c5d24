"""HighwayAPI (providers.md §4) under ``/highway``: ``/v3/...`` as ``https://api.highwayapi.ai/v3``.

- ``POST /v3/async/pixverse-pixverse-c1-reference-to-video``, ``POST /v3/async/pixverse-c1-text-to-video`` and
  ``POST /v3/async/pixverse-c1-image-to-video`` (all documented, providers.md §10) → ``{"task_id"}``. i2v takes
  ``image``: a URL whose path ends in ``.jpg``/``.jpeg``/``.png`` (``I2V_IMAGE_ENDINGS``), and the file must be a JPEG
  or PNG: WEBP is refused with 400 INVALID_REQUEST_BODY.
- ``GET /v3/async/task-result?task_id=``: ``task.status`` ``TASK_STATUS_QUEUED|PROCESSING|SUCCEED|FAILED``, the video
  in ``videos[0].video_url`` with ``video_url_ttl: "3600"``. Each answer signs a fresh link that stops working
  ``highway_url_ttl_seconds`` later (HTTP 403, S3-style XML), like the real short-lived signed URLs.

Errors: ``{"code": <http status>, "reason": NAME, "message", "metadata": {}}`` [I: the body shape is unseen] with
INVALID_API_KEY 403 (bad key), FAILED_TO_AUTH 401 (no key), INVALID_REQUEST_BODY 400, RATE_LIMIT_EXCEEDED 429,
SERVICE_NOT_AVAILABLE 503, and a 404 TASK_NOT_FOUND for unknown task ids [I]. An unreachable input image fails the
task (``reason`` says why); moderation fails it with a moderation ``reason``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from generations.emulators.app import json_response, request_json
from generations.emulators.faults import RETRY_AFTER_SECONDS
from generations.emulators.provider import (
    Invalid,
    JobDraft,
    ProviderEmulator,
    Route,
    bearer_key,
    check_prompt_refs,
    get_bool,
    get_choice,
    get_int,
    get_str,
    i2v_dimensions,
    require_dict,
)
from generations.emulators.store import Job, JobState, Outcome
from generations.providers.base import ASPECT_RATIOS, MAX_REFERENCES, REFERENCE_TYPES, RESOLUTIONS, Mode
from generations.providers.dimensions import output_dimensions

SLUGS = {
    "pixverse-pixverse-c1-reference-to-video": Mode.REFERENCE_TO_VIDEO,
    "pixverse-c1-text-to-video": Mode.TEXT_TO_VIDEO,
    "pixverse-c1-image-to-video": Mode.IMAGE_TO_VIDEO,
}
STATUS = {
    JobState.QUEUED: "TASK_STATUS_QUEUED",
    JobState.RUNNING: "TASK_STATUS_PROCESSING",
    JobState.SUCCEEDED: "TASK_STATUS_SUCCEED",
    JobState.FAILED: "TASK_STATUS_FAILED",
    JobState.MODERATED: "TASK_STATUS_FAILED",
    JobState.CANCELED: "TASK_STATUS_FAILED",
}
#: HighwayAPI i2v: "image (URL; .jpg/.jpeg/.png only, no WEBP)" (docs.jiekou.ai reference-pixverse-c1-image-to-video).
I2V_IMAGE_ENDINGS = (".jpg", ".jpeg", ".png")
REASONS = {
    Outcome.FAIL: "video generation failed",
    Outcome.MODERATE: "content moderation: the input or output was flagged as sensitive",
}


def error(status: int, reason: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"code": status, "reason": reason, "message": message, "metadata": {}}, status, headers)


class HighwayEmulator(ProviderEmulator):
    name = "highway"
    api_prefix = "/v3"
    default_concurrency = None

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._url_secret = secrets.token_bytes(32)

    def routes(self) -> list[Route]:
        slugs = ",".join(f'"{slug}"' for slug in SLUGS)
        return [
            (f"/v3/async/<any({slugs}):slug>", ["POST"], self.submit, "create"),
            ("/v3/async/task-result", ["GET"], self.task_result, "poll"),
        ]

    # ------------------------------------------------------------------ shared answers

    def authenticate(self, request: Request) -> str | Response:
        key = bearer_key(request)
        if not key:
            return error(401, "FAILED_TO_AUTH", "missing Authorization header")
        if not self.check_key(key):
            return error(403, "INVALID_API_KEY", "invalid api key")
        return key

    def refusal(self, fault: str) -> Response:
        if fault == "nocredits":
            return error(403, "NOT_ENOUGH_BALANCE", "not enough balance")
        if fault == "rejected":
            return error(400, "INVALID_REQUEST_BODY", "content moderation: the prompt was flagged as sensitive")
        if fault in ("ratelimit", "busy"):
            return error(429, "RATE_LIMIT_EXCEEDED", "rate limit exceeded", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        if fault == "error503":
            return error(503, "SERVICE_NOT_AVAILABLE", "service not available")
        return error(500, "INTERNAL_SERVER_ERROR", "internal server error")

    def malformed(self) -> Response:
        return Response('{"task_id":"', status=200, mimetype="application/json")

    # ------------------------------------------------------------------ submit

    def submit(self, request: Request, slug: str) -> Response:
        body = request_json(request)
        return self.app.create(
            self,
            request,
            lambda account: self._draft(slug, body),
            lambda job: json_response({"task_id": job.id}),
        )

    def _draft(self, slug: str, body: Any) -> JobDraft | Response:
        mode = SLUGS[slug]
        try:
            body = require_dict(body)
            prompt = get_str(body, "prompt", required=True)
            if len(prompt) > 2048:
                raise Invalid("prompt must be at most 2048 characters")
            duration = get_int(body, "duration", default=5, low=1, high=15) or 5
            resolution = get_choice(body, "resolution", RESOLUTIONS, "720p")
            aspect_ratio = get_choice(body, "aspect_ratio", ASPECT_RATIOS, "16:9")
            audio = get_bool(body, "generate_audio_switch")
            urls: list[str] = []
            if mode is Mode.IMAGE_TO_VIDEO:
                image = get_str(body, "image", required=True)
                if not urlsplit(image).path.lower().endswith(I2V_IMAGE_ENDINGS):
                    raise Invalid("image must be a .jpg, .jpeg or .png URL")
                urls = [image]
            elif mode is Mode.REFERENCE_TO_VIDEO:
                refs = _references(body.get("images"))
                check_prompt_refs(prompt, [ref["ref_name"] for ref in refs])
                urls = [ref["image_url"] for ref in refs]
        except Invalid as exc:
            return error(400, "INVALID_REQUEST_BODY", exc.message)
        loaded = self.load_images(urls)
        if mode is Mode.IMAGE_TO_VIDEO and loaded.images and loaded.images[0][8:12] == b"WEBP":
            return error(400, "INVALID_REQUEST_BODY", "image must be a JPEG or PNG file, not WEBP")
        if mode is Mode.IMAGE_TO_VIDEO:
            width, height, aspect_ratio = i2v_dimensions(resolution, loaded.first_size)
        else:
            width, height = output_dimensions(resolution, aspect_ratio)
        failed = loaded.error is not None
        return JobDraft(
            id=str(uuid.uuid4()),
            mode=mode,
            model=slug,
            prompt=prompt,
            resolution=resolution,
            duration=duration,
            width=width,
            height=height,
            audio=audio,
            aspect_ratio=aspect_ratio,
            images=() if failed else loaded.images,
            outcome=Outcome.INPUT_UNREACHABLE if failed else Outcome.SUCCEED,
            error_detail=f"failed to load input image: {loaded.error}" if failed else "",
            extra={"seed": secrets.randbelow(2_147_483_647)},
        )

    # ------------------------------------------------------------------ result

    def task_result(self, request: Request) -> Response:
        task_id = request.args.get("task_id", "")
        if not task_id:
            account = self.authenticate(request)
            if isinstance(account, Response):
                return account
            return error(400, "INVALID_REQUEST_BODY", "task_id is required")

        def answer(job: Job | None) -> Response:
            if job is None:
                return error(404, "TASK_NOT_FOUND", "task not found")
            return json_response(self.view(request, job))

        return self.app.poll(self, request, task_id, answer)

    def view(self, request: Request, job: Job) -> dict[str, Any]:
        def ms(value: float | None) -> str:
            return str(int(value * 1000)) if value is not None else ""

        reason = ""
        if job.state in (JobState.FAILED, JobState.MODERATED):
            reason = job.error_detail or REASONS.get(job.outcome, REASONS[Outcome.FAIL])
        progress = {JobState.QUEUED: 0, JobState.RUNNING: 50}.get(job.state, 100)
        eta = 0
        if job.state is JobState.RUNNING and job.started_at is not None:
            eta = max(0, math.ceil(job.started_at + self.app.config.run_seconds - self.app.clock.now()))
        videos = []
        if job.state is JobState.SUCCEEDED:
            ttl = int(self.app.config.highway_url_ttl_seconds)
            videos = [{"video_url": self.signed_url(request, job, ttl), "video_url_ttl": str(ttl), "video_type": "mp4"}]
        return {
            "extra": {
                "seed": str(job.extra.get("seed", "")),
                "debug_info": {
                    "request_info": "",
                    "submit_time_ms": ms(job.created_at),
                    "execute_time_ms": ms(job.started_at),
                    "complete_time_ms": ms(job.finished_at),
                },
            },
            "task": {
                "task_id": job.id,
                "status": STATUS[job.state],
                "reason": reason,
                "task_type": job.model.upper().replace("-", "_"),
                "eta": eta,
                "progress_percent": progress,
            },
            "images": [],
            "videos": videos,
            "audios": [],
        }

    # ------------------------------------------------------------------ signed, expiring output links

    def _signature(self, job_id: str, expires: int) -> str:
        return hmac.new(self._url_secret, f"{job_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_url(self, request: Request, job: Job, ttl: int) -> str:
        expires = int(self.app.clock.now()) + ttl
        return f"{self.output_url(request, job)}?expires={expires}&signature={self._signature(job.id, expires)}"

    def authorize_file(self, request: Request, job: Job) -> Response | None:
        expires_raw = request.args.get("expires", "")
        signature = request.args.get("signature", "")
        if not expires_raw.isdigit() or not hmac.compare_digest(signature, self._signature(job.id, int(expires_raw))):
            return _denied("SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if self.app.clock.now() > int(expires_raw):
            return _denied("AccessDenied", "Request has expired")
        return None


def _denied(code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, status=403, mimetype="application/xml")


def _references(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise Invalid("images is required (1-7 items)")
    if len(value) > MAX_REFERENCES:
        raise Invalid(f"images accepts at most {MAX_REFERENCES} items")
    refs = []
    for item in value:
        item = require_dict(item, "each image")
        refs.append(
            {
                "type": get_choice(item, "type", REFERENCE_TYPES, None),
                "ref_name": get_str(item, "ref_name", required=True),
                "image_url": get_str(item, "image_url", required=True),
            }
        )
    if len({ref["ref_name"] for ref in refs}) != len(refs):
        raise Invalid("ref_name must be unique")
    return refs
