"""Alibaba DashScope / Model Studio (providers.md §3) under ``/dashscope``: ``/api/v1/...`` as the Beijing endpoint.

- ``POST /api/v1/services/aigc/video-generation/video-synthesis`` (needs ``X-DashScope-Async: enable``, else 403
  AccessDenied "current user api does not support synchronous calls") → ``{"output": {"task_status": "PENDING",
  "task_id"}, "request_id"}``
- ``GET /api/v1/tasks/{task_id}``: PENDING → RUNNING → SUCCEEDED/FAILED (+ CANCELED); ``UNKNOWN`` for ids that do
  not exist or are older than ``dashscope_task_ttl_seconds`` (24 h). At most ``dashscope_query_qps`` (20) task
  queries per second per account, then 429 Throttling.
- ``POST /api/v1/tasks/{task_id}/cancel``: PENDING only (else 400 UnsupportedOperation).
- ``GET /api/v1/tasks``: the task list, filtered by ``start_time``/``end_time`` (``YYYYMMDDhhmmss``, Beijing time
  [I]), ``model_name`` and ``status``, paged by ``page_no``/``page_size``; rows are the query's ``output``.

Models: ``pixverse/pixverse-{c1,v6,v5.6}-it2v`` (``parameters.resolution`` uppercase ``720P``; ``input.media`` holds one
``image_url`` — if several are sent the LAST is used, as documented), ``pixverse/pixverse-{c1,v5.6}-r2v`` and
``pixverse/pixverse-{c1,v5.6}-t2v`` (``parameters.size`` "W*H", one of ``DOCUMENTED_SIZES``: the fixed table of
DashScope's t2v API reference, providers.md §10, written out here as data; nothing else is accepted). r2v media
items are exactly ``{type: "image_url", url, ref_name}`` (any other key, e.g. ``ref_type``, is refused as
undocumented); each ``ref_name`` is unique and every ``@ref_name`` in the prompt names one. i2v items are
``{type, url}``. Prompts longer than the model's limit are silently truncated, as documented.
Errors: ``{"code", "message", "request_id"}`` with the HTTP status of providers.md's table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from generations.emulators.app import json_response, request_json
from generations.emulators.faults import RETRY_AFTER_SECONDS
from generations.emulators.provider import (
    BEIJING,
    Invalid,
    JobDraft,
    ProviderEmulator,
    Route,
    bearer_key,
    beijing_time,
    check_prompt_refs,
    get_bool,
    get_int,
    get_str,
    i2v_dimensions,
    require_dict,
)
from generations.emulators.store import Job, JobState, Outcome
from generations.providers.base import MAX_REFERENCES, RESOLUTIONS, SEED_MAX, Mode
from generations.providers.dimensions import SHORT_SIDES

MODELS: dict[str, tuple[Mode, int]] = {  # model -> (mode, prompt limit)
    "pixverse/pixverse-c1-it2v": (Mode.IMAGE_TO_VIDEO, 5000),
    "pixverse/pixverse-v6-it2v": (Mode.IMAGE_TO_VIDEO, 5000),
    "pixverse/pixverse-v5.6-it2v": (Mode.IMAGE_TO_VIDEO, 2048),
    "pixverse/pixverse-c1-r2v": (Mode.REFERENCE_TO_VIDEO, 5000),
    "pixverse/pixverse-v5.6-r2v": (Mode.REFERENCE_TO_VIDEO, 2048),
    "pixverse/pixverse-c1-t2v": (Mode.TEXT_TO_VIDEO, 5000),
    "pixverse/pixverse-v5.6-t2v": (Mode.TEXT_TO_VIDEO, 2048),
}
UPPER_RESOLUTIONS = {resolution.upper(): resolution for resolution in RESOLUTIONS}
#: DashScope's documented ``parameters.size`` table (rows: resolution; columns: aspect ratio), verbatim from the
#: PixVerse text-to-video API reference. The same table holds for c1 r2v and t2v (and is used for v5.6 too [I]).
DOCUMENTED_SIZES: dict[str, dict[str, str]] = {
    "360P": {"16:9": "640*360", "4:3": "640*480", "1:1": "640*640", "3:4": "480*640", "9:16": "360*640",
             "3:2": "640*432", "2:3": "432*640", "21:9": "640*288"},
    "540P": {"16:9": "1024*576", "4:3": "1024*768", "1:1": "1024*1024", "3:4": "768*1024", "9:16": "576*1024",
             "3:2": "1024*688", "2:3": "688*1024", "21:9": "1024*448"},
    "720P": {"16:9": "1280*720", "4:3": "1108*832", "1:1": "960*960", "3:4": "832*1108", "9:16": "720*1280",
             "3:2": "1200*800", "2:3": "800*1200", "21:9": "1280*560"},
    "1080P": {"16:9": "1920*1080", "4:3": "1664*1248", "1:1": "1440*1440", "3:4": "1248*1664", "9:16": "1080*1920",
              "3:2": "1776*1184", "2:3": "1184*1776", "21:9": "1920*832"},
}  # fmt: skip
SIZES: dict[str, tuple[str, str]] = {  # "W*H" -> (resolution, aspect ratio)
    size: (resolution.lower(), ratio) for resolution, row in DOCUMENTED_SIZES.items() for ratio, size in row.items()
}
R2V_MEDIA_KEYS = frozenset({"type", "url", "ref_name"})
I2V_MEDIA_KEYS = frozenset({"type", "url"})
STATUS = {
    JobState.QUEUED: "PENDING",
    JobState.RUNNING: "RUNNING",
    JobState.SUCCEEDED: "SUCCEEDED",
    JobState.FAILED: "FAILED",
    JobState.MODERATED: "FAILED",
    JobState.CANCELED: "CANCELED",
}
TASK_ERRORS = {
    Outcome.MODERATE: ("DataInspectionFailed", "Output data may contain inappropriate content."),
    Outcome.FAIL: (
        "InternalError",
        "An internal error has occured during execution, please try again later or contact service support.",
    ),
}


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"code": code, "message": message, "request_id": str(uuid.uuid4())}, status, headers)


class DashScopeEmulator(ProviderEmulator):
    name = "dashscope"
    api_prefix = "/api/v1"
    default_concurrency = None

    def routes(self) -> list[Route]:
        return [
            ("/api/v1/services/aigc/video-generation/video-synthesis", ["POST"], self.create, "create"),
            ("/api/v1/tasks/<task_id>", ["GET"], self.task, "poll"),
            ("/api/v1/tasks/<task_id>/cancel", ["POST"], self.cancel, "other"),
            ("/api/v1/tasks", ["GET"], self.list_tasks, "other"),
        ]

    # ------------------------------------------------------------------ shared answers

    def authenticate(self, request: Request) -> str | Response:
        key = bearer_key(request)
        if not key:
            return error(401, "InvalidApiKey", "No API-key provided.")
        if not self.check_key(key):
            return error(401, "InvalidApiKey", "Invalid API-key provided.")
        return key

    def refusal(self, fault: str) -> Response:
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if fault == "nocredits":
            return error(400, "Arrearage", "Access denied, please make sure your account is in good standing.")
        if fault == "rejected":
            return error(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
        if fault == "ratelimit":
            return error(429, "Throttling", "Requests rate limit exceeded, please try again later.", retry)
        if fault == "busy":
            return error(
                429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit.", retry
            )
        if fault == "error503":
            return error(503, "ServiceUnavailable", "Service temporarily unavailable, please try again later.")
        return error(500, "InternalError", "An internal error has occured, please try again later.")

    def malformed(self) -> Response:
        return Response('{"output":{"task_status":"PEND', status=200, mimetype="application/json")

    def throttle(self, account: str) -> Response | None:
        now = self.app.clock.now()
        with self.app.store.lock:
            window = self.app.store.query_times[(self.name, account)]
            window[:] = [t for t in window if now - t < 1.0]
            if len(window) >= self.app.config.dashscope_query_qps:
                return error(429, "Throttling", "Requests rate limit exceeded, please try again later.")
            window.append(now)
        return None

    # ------------------------------------------------------------------ create

    def create(self, request: Request) -> Response:
        body = request_json(request)
        return self.app.create(self, request, lambda account: self._draft(request, body), self._created)

    def _draft(self, request: Request, body: Any) -> JobDraft | Response:
        if request.headers.get("X-DashScope-Async", "").lower() != "enable":
            return error(403, "AccessDenied", "current user api does not support synchronous calls")
        if not isinstance(body, dict):
            return error(400, "InvalidParameter", "Request body must be a JSON object.")
        model = body.get("model")
        if not model:
            return error(400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.')
        if model not in MODELS:
            return error(404, "ModelNotFound", "Model not exist.")
        mode, prompt_limit = MODELS[model]
        if not body.get("input"):
            return error(400, "BadRequest.EmptyInput", 'Required input "input" missing from request.')
        if not body.get("parameters"):
            return error(400, "BadRequest.EmptyParameters", 'Required parameter "parameters" missing from request.')
        try:
            inputs = require_dict(body["input"], "input")
            params = require_dict(body["parameters"], "parameters")
            prompt = get_str(inputs, "prompt")[:prompt_limit]  # silently truncated, as documented
            if mode is not Mode.IMAGE_TO_VIDEO and not prompt.strip():
                raise Invalid("prompt is required for this model")
            resolution, aspect_ratio = self._size(mode, params)
            duration = get_int(params, "duration", default=None, low=1, high=15)
            if duration is None:
                raise Invalid("duration is required")
            if "v5.6" in model and (duration not in (5, 8, 10) or (duration == 10 and resolution == "1080p")):
                raise Invalid("duration must be 5, 8 or 10 (5 or 8 at 1080P) for this model")
            audio = get_bool(params, "audio")
            watermark = get_bool(params, "watermark")
            seed = get_int(params, "seed", default=None, low=0, high=SEED_MAX)
            media = self._media(mode, inputs.get("media"), prompt)
        except Invalid as exc:
            return error(400, "InvalidParameter", exc.message)
        loaded = self.load_images(media)
        if loaded.error is not None:
            if loaded.error.unreachable:
                return error(400, "InvalidURL", f"The provided URL does not appear to be valid: {loaded.error}")
            return error(400, "InvalidParameter", f"The image is not valid: {loaded.error}")
        if mode is Mode.IMAGE_TO_VIDEO:
            width, height, aspect_ratio = i2v_dimensions(resolution, loaded.first_size)
        else:
            width, height = (int(side) for side in DOCUMENTED_SIZES[resolution.upper()][aspect_ratio].split("*"))
        return JobDraft(
            id=str(uuid.uuid4()),
            mode=mode,
            model=model,
            prompt=prompt,
            resolution=resolution,
            duration=duration,
            width=width,
            height=height,
            audio=audio,
            aspect_ratio=aspect_ratio,
            images=loaded.images,
            seed=seed,
            watermark=watermark,
        )

    @staticmethod
    def _size(mode: Mode, params: dict[str, Any]) -> tuple[str, str]:
        """(resolution, aspect ratio): i2v takes ``resolution`` (uppercase); t2v/r2v take ``size`` from the table."""
        if mode is not Mode.IMAGE_TO_VIDEO:
            size = params.get("size")
            if size is None:
                raise Invalid("size is required")
            if size not in SIZES:
                raise Invalid(f"The size is not match the allowed sizes: {size}")
            return SIZES[size]
        raw = params.get("resolution")
        if raw is None:
            raise Invalid("resolution is required")
        if raw not in UPPER_RESOLUTIONS:
            raise Invalid(f"resolution must be one of {', '.join(UPPER_RESOLUTIONS)}")
        return UPPER_RESOLUTIONS[raw], "16:9"

    @staticmethod
    def _media(mode: Mode, media: Any, prompt: str) -> list[str]:
        if mode is Mode.TEXT_TO_VIDEO:
            return []
        if not isinstance(media, list) or not media:
            raise Invalid("input.media is required")
        items = [require_dict(item, "each media item") for item in media]
        allowed = I2V_MEDIA_KEYS if mode is Mode.IMAGE_TO_VIDEO else R2V_MEDIA_KEYS
        urls = []
        for item in items:
            unknown = sorted(set(item) - allowed)
            if unknown:
                raise Invalid(f"media item has undocumented field(s): {', '.join(unknown)}")
            if item.get("type") != "image_url":
                raise Invalid("media type must be image_url")
            urls.append(get_str(item, "url", required=True))
        if mode is Mode.IMAGE_TO_VIDEO:
            return urls[-1:]  # "If you provide multiple images, the system uses the last one."
        if len(urls) > MAX_REFERENCES:
            raise Invalid(f"input.media accepts at most {MAX_REFERENCES} images")
        names = [get_str(item, "ref_name", required=True) for item in items]
        if len(set(names)) != len(names):
            raise Invalid("each ref_name must be unique")
        check_prompt_refs(prompt, names)
        return urls

    def _created(self, job: Job) -> Response:
        return json_response({"output": {"task_status": "PENDING", "task_id": job.id}, "request_id": str(uuid.uuid4())})

    # ------------------------------------------------------------------ query, cancel, list

    def task(self, request: Request, task_id: str) -> Response:
        def answer(job: Job | None) -> Response:
            return json_response({"request_id": str(uuid.uuid4()), **self.view(request, task_id, job)})

        return self.app.poll(self, request, task_id, answer)

    def _expired(self, job: Job) -> bool:
        return self.app.clock.now() - job.created_at > self.app.config.dashscope_task_ttl_seconds

    def view(self, request: Request, task_id: str, job: Job | None) -> dict[str, Any]:
        if job is None or self._expired(job):
            return {"output": {"task_id": task_id, "task_status": "UNKNOWN"}}
        output: dict[str, Any] = {
            "task_id": job.id,
            "task_status": STATUS[job.state],
            "submit_time": beijing_time(job.created_at),
        }
        if job.started_at is not None:
            output["scheduled_time"] = beijing_time(job.started_at)
        if job.finished_at is not None:
            output["end_time"] = beijing_time(job.finished_at)
        output["orig_prompt"] = job.prompt
        result: dict[str, Any] = {"output": output}
        if job.state is JobState.SUCCEEDED:
            output["video_url"] = self.output_url(request, job)
            result["usage"] = {
                "duration": job.extra.get("reported_seconds", job.duration),  # ``/_control/billing`` may change it
                "shot_type": "single",
                "size": f"{job.width}*{job.height}",
                "fps": 24,
                "video_count": 1,
                "audio": job.audio,
                "SR": str(SHORT_SIDES[job.resolution]),
            }
        elif job.state in (JobState.FAILED, JobState.MODERATED):
            output["code"], output["message"] = TASK_ERRORS.get(job.outcome, TASK_ERRORS[Outcome.FAIL])
        return result

    def cancel(self, request: Request, task_id: str) -> Response:
        self.app.advance()
        account = self.authenticate(request)
        if isinstance(account, Response):
            return account
        job = self.app.store.get_job(self.name, task_id)
        if job is None or job.account != account or self._expired(job) or not self.app.store.cancel(job):
            return error(
                400,
                "UnsupportedOperation",
                "Failed to cancel the task, please confirm if the task is in PENDING status.",
            )
        return json_response({"request_id": str(uuid.uuid4())})

    def list_tasks(self, request: Request) -> Response:
        self.app.advance()
        account = self.authenticate(request)
        if isinstance(account, Response):
            return account
        status = request.args.get("status")
        model_name = request.args.get("model_name")
        try:
            start, end = (_list_time(request.args.get(name)) for name in ("start_time", "end_time"))
        except ValueError:
            return error(400, "InvalidParameter", "start_time/end_time must be YYYYMMDDhhmmss")
        with self.app.store.lock:
            jobs = [
                job
                for job in self.app.store.jobs.values()
                if job.provider == self.name
                and job.account == account
                and not self._expired(job)
                and (not model_name or job.model == model_name)
                and (start is None or job.created_at >= start)
                and (end is None or job.created_at <= end)
            ]
        jobs.sort(key=lambda job: job.created_at)
        rows = [self.view(request, job.id, job)["output"] for job in jobs]
        if status:
            rows = [row for row in rows if row["task_status"] == status]
        page_no = max(1, int(request.args.get("page_no", "1") or 1))
        page_size = max(1, int(request.args.get("page_size", "10") or 10))
        page = rows[(page_no - 1) * page_size : page_no * page_size]
        return json_response(
            {
                "request_id": str(uuid.uuid4()),
                "data": page,
                "total": len(rows),
                "page_no": page_no,
                "page_size": page_size,
            }
        )


def _list_time(value: str | None) -> float | None:
    """A task-list bound (``YYYYMMDDhhmmss``, Beijing time) as a timestamp; ``None`` when absent."""
    if not value:
        return None
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING).timestamp()
