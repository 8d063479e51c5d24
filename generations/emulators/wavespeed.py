"""WaveSpeed (providers.md §2) under ``/wavespeed``: ``/api/v3/...`` exactly as ``https://api.wavespeed.ai/api/v3``.

- ``POST /api/v3/pixverse/pixverse-c1/{image-to-video|reference-to-video|text-to-video}[?webhook=<url>]``
- ``GET /api/v3/predictions/{id}/result`` and ``GET /api/v3/predictions/{id}`` (both documented forms)
- ``POST /api/v3/media/upload/binary`` (multipart ``file``), plus the ticket flow the official SDK uses
  (``POST /api/v3/media/uploads`` → ``PUT`` the bytes to the returned URL)
- ``GET /api/v3/webhook/secret``
- ``POST /api/v3/predictions``: the prediction list (wavespeed.ai/docs/docs-common-api/predictions), filtered by
  ``model``, ``status``, ``created_after``/``created_before`` (ISO 8601) and paged by ``page``/``page_size``
  [I: the answer's shape is undocumented: ``data`` = ``{items, page, page_size, total}``]; 7-day retention.

Envelope ``{"code": 200, "message": "success", "data": {...}}``. Statuses created/processing/completed/failed; task
errors in ``data.code``/``data.error`` (1200 moderation, 1401 invalid input image, 1402 media URL not accessible,
1403 execution failed, 5004 sync-mode timeout). Submit-time validation answers HTTP 400 with ``code`` 1400
(missing parameter) or 1401 (invalid parameter) [I: the HTTP error body is undocumented]. Bad or missing bearer →
HTTP 401. Above the account's concurrency (default 2, Bronze) jobs wait in ``created``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from datetime import datetime
from typing import Any

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
    iso_utc,
    require_dict,
)
from generations.emulators.store import Job, JobState, Outcome
from generations.emulators.webhooks import Delivery, sign_wavespeed
from generations.providers.base import ASPECT_RATIOS, MAX_REFERENCES, REFERENCE_TYPES, RESOLUTIONS, Mode
from generations.providers.dimensions import output_dimensions

MODES = {
    "image-to-video": Mode.IMAGE_TO_VIDEO,
    "reference-to-video": Mode.REFERENCE_TO_VIDEO,
    "text-to-video": Mode.TEXT_TO_VIDEO,
}
STATUS = {
    JobState.QUEUED: "created",
    JobState.RUNNING: "processing",
    JobState.SUCCEEDED: "completed",
    JobState.FAILED: "failed",
    JobState.MODERATED: "failed",
    JobState.CANCELED: "failed",
}
TASK_ERRORS = {
    Outcome.FAIL: (1403, "Task execution failed"),
    Outcome.MODERATE: (1200, "Content moderation: the input or output violates the content policy"),
    Outcome.INPUT_UNREACHABLE: (1402, "Media URL is not accessible"),
}


def envelope(data: Any) -> dict[str, Any]:
    return {"code": 200, "message": "success", "data": data}


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "data": None}


class WaveSpeedEmulator(ProviderEmulator):
    name = "wavespeed"
    api_prefix = "/api/v3"
    default_concurrency = 2
    queues_when_full = True
    flags_nsfw = True

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._tickets: dict[str, tuple[str, str]] = {}
        self._tickets_lock = threading.Lock()

    def routes(self) -> list[Route]:
        modes = ",".join(f'"{mode}"' for mode in MODES)
        return [
            (f"/api/v3/pixverse/pixverse-c1/<any({modes}):task>", ["POST"], self.submit, "create"),
            ("/api/v3/predictions/<prediction_id>/result", ["GET"], self.result, "poll"),
            ("/api/v3/predictions/<prediction_id>", ["GET"], self.result, "poll"),
            ("/api/v3/media/upload/binary", ["POST"], self.upload_binary, "other"),
            ("/api/v3/media/uploads", ["POST"], self.upload_ticket, "other"),
            ("/_uploads/<ticket>", ["PUT"], self.upload_put, "other"),
            ("/api/v3/webhook/secret", ["GET"], self.webhook_secret, "other"),
            ("/api/v3/predictions", ["POST"], self.list_predictions, "other"),
        ]

    # ------------------------------------------------------------------ shared answers

    def authenticate(self, request: Request) -> str | Response:
        key = bearer_key(request)
        if not self.check_key(key):
            return json_response(error_body(401, "Unauthorized: invalid or missing API key"), 401)
        return key

    def refusal(self, fault: str) -> Response:
        if fault == "nocredits":
            return json_response(error_body(402, "Insufficient balance, please top up"), 402)
        if fault == "rejected":
            return json_response(error_body(1200, "Content moderation: the prompt violates the content policy"), 400)
        if fault in ("ratelimit", "busy"):
            return json_response(
                error_body(429, "Too many requests, please slow down"), 429, {"Retry-After": str(RETRY_AFTER_SECONDS)}
            )
        if fault == "error503":
            return json_response(error_body(503, "Service temporarily unavailable"), 503)
        if fault == "fail200":
            return json_response(error_body(500, "Internal error, please retry"), 200)
        return json_response(error_body(500, "Internal server error"), 500)

    def malformed(self) -> Response:
        return Response('{"code":200,"message":"success","data":{"id":"', status=200, mimetype="application/json")

    # ------------------------------------------------------------------ submit

    def submit(self, request: Request, task: str) -> Response:
        body = request_json(request)
        webhook = request.args.get("webhook", "")
        return self.app.create(
            self,
            request,
            lambda account: self._draft(request, task, body, webhook),
            lambda job: self._submit_answer(
                request, job, sync=isinstance(body, dict) and body.get("enable_sync_mode") is True
            ),
        )

    def _draft(self, request: Request, task: str, body: Any, webhook: str) -> JobDraft | Response:
        mode = MODES[task]
        try:
            body = require_dict(body)
            prompt = get_str(body, "prompt", required=True)
            resolution = get_choice(body, "resolution", RESOLUTIONS, "720p")
            duration = get_int(body, "duration", default=5, low=1, high=15) or 5
            audio = get_bool(body, "generate_audio_switch")
            urls: list[str] = []
            aspect_ratio: str | None = None
            refs: list[dict[str, str]] = []
            if mode is Mode.IMAGE_TO_VIDEO:
                urls = [get_str(body, "image", required=True)]
            else:
                aspect_ratio = get_choice(body, "aspect_ratio", ASPECT_RATIOS, "16:9")
            if mode is Mode.REFERENCE_TO_VIDEO:
                refs = _references(body.get("images"))
                check_prompt_refs(prompt, [ref["ref_name"] for ref in refs])
                urls = [ref["image_url"] for ref in refs]
        except Invalid as exc:
            code = 1400 if exc.code == "missing" else 1401
            return json_response(error_body(code, exc.message), 400)
        loaded = self.load_images(urls)
        outcome, detail, error_code = Outcome.SUCCEED, "", 0
        if loaded.error is not None:
            outcome, detail = Outcome.INPUT_UNREACHABLE, str(loaded.error)
            error_code = 1402 if loaded.error.unreachable else 1401
        if mode is Mode.IMAGE_TO_VIDEO:
            width, height, aspect_ratio = i2v_dimensions(resolution, loaded.first_size)
        else:
            width, height = output_dimensions(resolution, aspect_ratio or "16:9")
        model_input = {k: v for k, v in body.items() if k != "enable_sync_mode"}
        return JobDraft(
            id=uuid.uuid4().hex,
            mode=mode,
            model=f"pixverse/pixverse-c1/{task}",
            prompt=prompt,
            resolution=resolution,
            duration=duration,
            width=width,
            height=height,
            audio=audio,
            aspect_ratio=aspect_ratio,
            images=loaded.images if loaded.error is None else (),
            webhook_url=webhook,
            outcome=outcome,
            error_detail=detail,
            extra={"input": model_input, "base_url": self.base_url(request), "error_code": error_code},
        )

    def _submit_answer(self, request: Request, job: Job, *, sync: bool) -> Response:
        if sync:
            deadline = time.monotonic() + self.app.config.sync_timeout_seconds
            while not job.state.is_terminal and time.monotonic() < deadline:
                time.sleep(0.05)
                self.app.advance()
            data = self.prediction(self.base_url(request), job)
            if not job.state.is_terminal:
                data.update({"status": "processing", "code": 5004, "error": "Sync mode timed out"})
            return json_response(envelope(data))
        return json_response(envelope(self.prediction(self.base_url(request), job)))

    # ------------------------------------------------------------------ result

    def result(self, request: Request, prediction_id: str) -> Response:
        def answer(job: Job | None) -> Response:
            if job is None:
                return json_response(error_body(404, f"prediction {prediction_id} not found"), 404)
            return json_response(envelope(self.prediction(self.base_url(request), job)))

        return self.app.poll(self, request, prediction_id, answer)

    def prediction(self, base: str, job: Job) -> dict[str, Any]:
        """The prediction object (``data``), as polled and as posted to webhooks."""
        done = job.state is JobState.SUCCEEDED
        data: dict[str, Any] = {
            "id": job.id,
            "model": job.model,
            "input": job.extra.get("input", {}),
            "outputs": [f"{base}/files/{job.id}.mp4"] if done else [],
            "urls": {"get": f"{base}/api/v3/predictions/{job.id}/result"},
            "has_nsfw_contents": [job.nsfw] if done else [],
            "status": STATUS[job.state],
            "created_at": iso_utc(job.created_at),
            "error": "",
            "timings": {"inference": _inference_ms(job)},
        }
        if job.state in (JobState.FAILED, JobState.MODERATED):
            code, message = TASK_ERRORS.get(job.outcome, (1403, "Task execution failed"))
            if job.outcome is Outcome.INPUT_UNREACHABLE:
                code = job.extra.get("error_code") or code
                message = (
                    f"{message}: {job.error_detail}" if code == 1402 else f"Invalid input image: {job.error_detail}"
                )
            data.update({"code": code, "error": message})
        return data

    # ------------------------------------------------------------------ the prediction list

    def list_predictions(self, request: Request) -> Response:
        self.app.advance()
        account = self.authenticate(request)
        if isinstance(account, Response):
            return account
        body = request_json(request)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return json_response(error_body(1401, "request body must be a JSON object"), 400)
        try:
            after, before = (_iso_time(body.get(key)) for key in ("created_after", "created_before"))
            page = int(body.get("page") or 1)
            page_size = int(body.get("page_size") or 20)
        except (TypeError, ValueError):
            return json_response(error_body(1401, "invalid page or time filter"), 400)
        if page < 1 or not 1 <= page_size <= 100:
            return json_response(error_body(1401, "page must be >= 1 and page_size 1-100"), 400)
        model, status = body.get("model"), body.get("status")
        retention = 7 * 24 * 3600.0
        now = self.app.clock.now()
        with self.app.store.lock:
            jobs = [
                job
                for job in self.app.store.jobs.values()
                if job.provider == self.name
                and job.account == account
                and now - job.created_at <= retention
                and (not model or job.model == model)
                and (after is None or job.created_at >= after)
                and (before is None or job.created_at <= before)
            ]
        jobs.sort(key=lambda job: job.created_at, reverse=True)
        base = self.base_url(request)
        rows = [self.prediction(base, job) for job in jobs]
        if status:
            rows = [row for row in rows if row["status"] == status]
        items = rows[(page - 1) * page_size : page * page_size]
        return json_response(envelope({"items": items, "page": page, "page_size": page_size, "total": len(rows)}))

    # ------------------------------------------------------------------ webhooks

    def wants_webhook(self, job: Job) -> bool:
        return bool(job.webhook_url)

    def on_finished(self, job: Job) -> None:
        if not job.webhook_url or job.state is JobState.CANCELED:
            return
        data = self.prediction(job.extra["base_url"], job)
        data.pop("timings", None)
        body = json.dumps(data, separators=(",", ":")).encode()
        webhook_id = f"msg_{secrets.token_hex(12)}"
        timestamp = str(int(self.app.clock.now()))
        headers = {
            "Content-Type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": sign_wavespeed(self.app.config.wavespeed_webhook_secret, webhook_id, timestamp, body),
        }
        self.app.webhooks.send(Delivery(provider=self.name, url=job.webhook_url, headers=headers, body=body))

    def webhook_secret(self, request: Request) -> Response:
        account = self.authenticate(request)
        if isinstance(account, Response):
            return account
        return json_response(envelope({"secret": self.app.config.wavespeed_webhook_secret}))

    # ------------------------------------------------------------------ uploads

    def upload_binary(self, request: Request) -> Response:
        account = self.authenticate(request)
        if isinstance(account, Response):
            return account
        file = request.files.get("file")
        if file is None:
            return json_response(error_body(1400, "file is required"), 400)
        data = file.read()
        content_type = file.mimetype or "application/octet-stream"
        filename = file.filename or "upload.bin"
        upload = self.app.store.add_upload(data, content_type, filename)
        return json_response(
            envelope(
                {
                    "type": content_type.split("/", 1)[0] if "/" in content_type else "file",
                    "download_url": self.upload_url(request, upload.id, filename),
                    "filename": filename,
                    "size": len(data),
                }
            )
        )

    def upload_ticket(self, request: Request) -> Response:
        """The official SDK's upload: a ticket with a PUT URL, then the bytes (``upload_put``)."""
        account = self.authenticate(request)
        if isinstance(account, Response):
            return account
        body = request_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("filename"), str):
            return json_response(error_body(1400, "filename is required"), 400)
        ticket = uuid.uuid4().hex
        filename = body["filename"]
        content_type = str(body.get("content_type") or "application/octet-stream")
        with self._tickets_lock:
            self._tickets[ticket] = (filename, content_type)
        return json_response(
            envelope(
                {
                    "upload": {
                        "method": "PUT",
                        "url": f"{self.base_url(request)}/_uploads/{ticket}",
                        "headers": {"Content-Type": content_type},
                    },
                    "download_url": self.upload_url(request, ticket, filename),
                    "filename": filename,
                    "size": body.get("size"),
                }
            )
        )

    def upload_put(self, request: Request, ticket: str) -> Response:
        with self._tickets_lock:
            entry = self._tickets.pop(ticket, None)
        if entry is None:
            return Response("<Error><Code>NoSuchUpload</Code></Error>", status=404, mimetype="application/xml")
        filename, content_type = entry
        self.app.store.add_upload(request.get_data(), content_type, filename, upload_id=ticket)
        return Response(b"", status=200)


def _references(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise Invalid("images is required", code="missing")
    if len(value) > MAX_REFERENCES:
        raise Invalid(f"images accepts at most {MAX_REFERENCES} references")
    refs: list[dict[str, str]] = []
    for item in value:
        item = require_dict(item, "each image")
        url = get_str(item, "image_url", required=True)
        ref_type = get_choice(item, "type", REFERENCE_TYPES, None)
        ref_name = get_str(item, "ref_name", required=True)
        refs.append({"image_url": url, "type": ref_type, "ref_name": ref_name})
    names = [ref["ref_name"] for ref in refs]
    if len(set(names)) != len(names):
        raise Invalid("ref_name must be unique")
    return refs


def _iso_time(value: Any) -> float | None:
    """An ISO 8601 bound (``2026-12-01T10:00:00Z``) as a timestamp; ``None`` when absent."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError("time filters are ISO 8601 strings")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _inference_ms(job: Job) -> int:
    if job.started_at is None or job.finished_at is None:
        return 0
    return int((job.finished_at - job.started_at) * 1000)
