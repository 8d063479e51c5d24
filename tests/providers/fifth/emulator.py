"""The throwaway fifth provider's emulator, as ONE module: its wire format, written from its (made-up) docs."""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from generations.emulators.app import json_response, request_json
from generations.emulators.provider import (
    Invalid,
    JobDraft,
    ProviderEmulator,
    Route,
    bearer_key,
    get_bool,
    get_choice,
    get_int,
    get_str,
    require_dict,
)
from generations.emulators.store import Job, JobState
from generations.providers.base import Mode

RESOLUTIONS = ("360p", "540p", "720p", "1080p")
RATIOS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
SHORT = {"360p": 360, "540p": 540, "720p": 720, "1080p": 1080}
STATUS = {
    JobState.QUEUED: "queued",
    JobState.RUNNING: "running",
    JobState.SUCCEEDED: "done",
    JobState.FAILED: "failed",
    JobState.MODERATED: "failed",
    JobState.CANCELED: "failed",
}


def _size(resolution: str, ratio: str) -> tuple[int, int]:
    w, h = RATIOS[ratio]
    short = SHORT[resolution]
    return (2 * round(short * w / h / 2), short) if w >= h else (short, 2 * round(short * h / w / 2))


class AcmeEmulator(ProviderEmulator):
    name = "acme"
    api_prefix = "/v1"

    def routes(self) -> list[Route]:
        return [
            ("/v1/videos", ["POST"], self.create, "create"),
            ("/v1/videos/<video_id>", ["GET"], self.video, "poll"),
        ]

    def authenticate(self, request: Request) -> str | Response:
        key = bearer_key(request)
        return key if self.check_key(key) else json_response({"error": "bad key"}, 401)

    def refusal(self, fault: str) -> Response:
        return json_response({"error": fault}, 429 if fault in ("ratelimit", "busy") else 500)

    def malformed(self) -> Response:
        return Response('{"id":', status=200, mimetype="application/json")

    def create(self, request: Request) -> Response:
        body = request_json(request)
        return self.app.create(
            self, request, lambda account: self._draft(body), lambda job: json_response({"id": job.id})
        )

    def _draft(self, body: Any) -> JobDraft | Response:
        try:
            body = require_dict(body)
            prompt = get_str(body, "prompt", required=True)
            seconds = get_int(body, "seconds", default=5, low=1, high=10) or 5
            resolution = get_choice(body, "resolution", RESOLUTIONS, "720p")
            ratio = get_choice(body, "aspect_ratio", tuple(RATIOS), "16:9")
            audio = get_bool(body, "audio")
        except Invalid as exc:
            return json_response({"error": exc.message}, 400)
        width, height = _size(resolution, ratio)
        return JobDraft(
            id=uuid.uuid4().hex,
            mode=Mode.TEXT_TO_VIDEO,
            model="acme-1",
            prompt=prompt,
            resolution=resolution,
            duration=seconds,
            width=width,
            height=height,
            audio=audio,
            aspect_ratio=ratio,
        )

    def video(self, request: Request, video_id: str) -> Response:
        def answer(job: Job | None) -> Response:
            if job is None:
                return json_response({"error": "not found"}, 404)
            done = job.state is JobState.SUCCEEDED
            return json_response(
                {"id": job.id, "status": STATUS[job.state], "video_url": self.output_url(request, job) if done else ""}
            )

        return self.app.poll(self, request, video_id, answer)
