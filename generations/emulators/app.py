"""The four provider APIs as ONE WSGI application (DESIGN.md §5): ``create_app(**config)``.

Routes (each provider's real paths after a prefix; see the provider modules for the details):

- ``/wavespeed/api/v3/...``   WaveSpeed            (``generations.emulators.wavespeed``)
- ``/pixverse/openapi/v2/...`` PixVerse Platform   (``generations.emulators.pixverse``)
- ``/dashscope/api/v1/...``   Alibaba DashScope    (``generations.emulators.dashscope``)
- ``/highway/v3/...``         HighwayAPI           (``generations.emulators.highway``)
- ``/<provider>/files/<job id>.mp4`` the rendered outputs (HighwayAPI's are signed and expire);
  ``/<provider>/files/uploads/<id>.<ext>`` uploaded images.
- ``/_control/...`` the test/operator control API:

  =====================================  ==========================================================================
  ``POST /_control/reset``               forget jobs, uploads, counters, armed faults, webhooks; clock and config
                                         back to how the app was created
  ``POST /_control/faults``              arm ``{"provider", "fault", "times": 1, "on": "create"|"poll"}``
                                         (see ``faults``); ``GET`` lists armed faults
  ``POST /_control/config``              change timelines/limits at run time (``EmulatorConfig.RUNTIME_KEYS``);
                                         ``GET`` shows the config
  ``POST /_control/clock``               ``{"advance": seconds}`` moves the emulator clock forward
  ``GET /_control/creates?key=<uuid>``   create calls for one ``Idempotency-Key``: ``{"key", "count",
                                         "accepted", "job_ids"}``; without ``key``: ``{"total", "accepted",
                                         "by_key"}``
  ``GET /_control/jobs``                 every job with its state (debugging)
  ``GET /_control/webhooks``             every webhook sent, with headers, body and the receiver's status
  ``POST /_control/billing``             ``{"provider", "job_id", "credits"|"billed_seconds"}``: that job's
                                         provider reports another charge (a billing fault)
  =====================================  ==========================================================================

Every answer is built from the request's Host, so the same app works in-process (``http://emulator.test``) and on a
socket. Transport faults (timeout after send, reset) are *signalled* with the internal ``X-Emulator-Transport-Fault``
response header: ``EmulatorTransport`` (in-process) and ``server.FaultMiddleware`` (sockets) act on it and strip it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from generations.emulators import faults as fault_table
from generations.emulators.config import EmulatorConfig
from generations.emulators.faults import FaultBoard, parse_prompt
from generations.emulators.registry import emulator_classes
from generations.emulators.render import RenderSpec, render_mp4
from generations.emulators.store import Clock, Job, JobState, JobStore, Outcome
from generations.emulators.webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from generations.emulators.provider import JobDraft, ProviderEmulator

logger = logging.getLogger(__name__)

Handler = Callable[..., Response]


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def request_json(request: Request) -> Any:
    """The JSON body whatever the Content-Type claims; ``None`` when it is not JSON."""
    return request.get_json(force=True, silent=True)


class EmulatorApp:
    """The WSGI application. Holds the store, the fault board, the config and the four provider emulators."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._initial_config = replace(config, concurrency=dict(config.concurrency))
        self.clock = Clock()
        self.store = JobStore(self.clock)
        self.faults = FaultBoard()
        self.webhooks = WebhookDispatcher(transport=config.webhook_transport, timeout=config.webhook_timeout_seconds)
        self._render_locks: dict[str, threading.Lock] = {}
        self._render_locks_guard = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._ticker_lock = threading.Lock()
        self._prerenderer: threading.Thread | None = None
        self._prerendered: set[tuple[str, str]] = set()
        self.providers: dict[str, ProviderEmulator] = {name: cls(self) for name, cls in emulator_classes().items()}
        self._kinds: dict[Handler, tuple[str, str]] = {}
        rules: list[Rule] = []
        for provider in self.providers.values():
            for path, methods, handler, kind in provider.routes():
                rules.append(Rule(f"/{provider.name}{path}", methods=methods, endpoint=handler))
                self._kinds[handler] = (provider.name, kind)
        providers = ",".join(self.providers)
        rules += [
            Rule(
                f"/<any({providers}):provider>/files/<job_id>.mp4", methods=["GET", "HEAD"], endpoint=self.serve_output
            ),
            Rule(
                f"/<any({providers}):provider>/files/uploads/<name>",
                methods=["GET", "HEAD"],
                endpoint=self.serve_upload,
            ),
            Rule("/", methods=["GET"], endpoint=self.index),
            Rule("/_control/reset", methods=["POST"], endpoint=self.control_reset),
            Rule("/_control/faults", methods=["GET", "POST"], endpoint=self.control_faults),
            Rule("/_control/config", methods=["GET", "POST"], endpoint=self.control_config),
            Rule("/_control/clock", methods=["POST"], endpoint=self.control_clock),
            Rule("/_control/creates", methods=["GET"], endpoint=self.control_creates),
            Rule("/_control/jobs", methods=["GET"], endpoint=self.control_jobs),
            Rule("/_control/webhooks", methods=["GET"], endpoint=self.control_webhooks),
            Rule("/_control/billing", methods=["POST"], endpoint=self.control_billing),
        ]
        self.url_map = Map(rules, strict_slashes=False)
        self._sync_store_config()
        self._ensure_prerenderer()

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return json_response({"code": 404, "message": "not found"}, 404)
        except MethodNotAllowed:
            return json_response({"code": 405, "message": "method not allowed"}, 405)
        except HTTPException as exc:  # e.g. a redirect werkzeug wants for a slash
            return exc.get_response(request.environ)
        try:
            return cast(Handler, endpoint)(request, **values)
        except Exception:
            logger.exception("emulator handler failed for %s %s", request.method, request.path)
            return json_response({"code": 500, "message": "emulator internal error"}, 500)

    def classify(self, method: str, path: str) -> tuple[str, str] | None:
        """``(provider, "create"|"poll"|"other")`` for a request path, or None when no route matches."""
        adapter = self.url_map.bind("emulator.invalid")
        try:
            endpoint, _values = adapter.match(path, method=method)
        except HTTPException:
            return None
        return self._kinds.get(cast(Handler, endpoint))

    def take_connect_fault(self, method: str, path: str) -> str | None:
        """Consume an armed ``connect_timeout``/``connect_error`` for this request (used by ``EmulatorTransport``)."""
        kind = self.classify(method, path)
        if kind is None or kind[1] not in ("create", "poll"):
            return None
        return self.faults.take(kind[0], kind[1], fault_table.CONNECT_FAULTS)

    # ------------------------------------------------------------------ timelines and webhooks

    def _sync_store_config(self) -> None:
        self.store.configure(limits=self.config.concurrency, run_seconds=self.config.run_seconds)

    def advance(self) -> None:
        """Bring every job up to the clock; hand the ones that just ended to their provider (webhooks)."""
        for job in self.store.advance():
            self.providers[job.provider].on_finished(job)

    def _ensure_ticker(self) -> None:
        """Webhooks must fire without anyone polling: a daemon thread advances while a webhook job is pending."""
        with self._ticker_lock:
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, name="emulator-ticker", daemon=True)
                self._ticker.start()

    def _tick(self) -> None:
        while True:
            time.sleep(0.05)
            self.advance()
            with self._ticker_lock, self.store.lock:
                pending = any(
                    not job.state.is_terminal and self.providers[job.provider].wants_webhook(job)
                    for job in self.store.jobs.values()
                )
                if not pending:
                    self._ticker = None
                    return

    def _ensure_prerenderer(self) -> None:
        """Start the render-ahead thread while ``prerender_lead_seconds`` is set (see the config)."""
        with self._ticker_lock:
            if self.config.prerender_lead_seconds > 0 and self._prerenderer is None:
                self._prerenderer = threading.Thread(target=self._prerender, name="emulator-prerender", daemon=True)
                self._prerenderer.start()

    def _prerender_due(self) -> list[Job]:
        """Succeeding jobs within ``prerender_lead_seconds`` of their end (or past it) whose MP4 is not made yet."""
        lead, run, now = self.config.prerender_lead_seconds, self.config.run_seconds, self.clock.now()
        with self.store.lock:
            return [
                job
                for key, job in self.store.jobs.items()
                if key not in self._prerendered
                and job.outcome in (Outcome.SUCCEED, Outcome.NSFW)
                and job.started_at is not None
                and job.state in (JobState.RUNNING, JobState.SUCCEEDED)
                and job.started_at + run - lead <= now
            ]

    def _prerender(self) -> None:
        """One job at a time (a provider's render farm is not ours to emulate: one core is enough here)."""
        while True:
            time.sleep(0.05)
            with self._ticker_lock:
                if self.config.prerender_lead_seconds <= 0:
                    self._prerenderer = None
                    return
            self.advance()
            for job in self._prerender_due():
                self._prerendered.add((job.provider, job.id))
                try:
                    self.render_output(job)
                except Exception:
                    logger.exception("emulator: rendering ahead failed for %s %s", job.provider, job.id)

    # ------------------------------------------------------------------ the shared create / poll flows

    def create(
        self,
        provider: ProviderEmulator,
        request: Request,
        build: Callable[[str], JobDraft | Response],
        respond: Callable[[Job], Response],
    ) -> Response:
        """Count the call, authenticate, validate (``build``), apply faults and limits, create, answer (``respond``)."""
        key = request.headers.get("Idempotency-Key") or "body:" + hashlib.sha256(request.get_data()).hexdigest()
        self.store.count_create(key)
        self.advance()
        account = provider.authenticate(request)
        if isinstance(account, Response):
            return account
        draft = build(account)
        if isinstance(draft, Response):
            return draft
        prompt_faults = parse_prompt(draft.prompt)
        app_faults = fault_table.CREATE_FAULTS - fault_table.CONNECT_FAULTS
        fault = self.faults.take(provider.name, "create", app_faults) or prompt_faults.create
        if fault == "busy" and provider.queues_when_full:
            draft.outcome = Outcome.STUCK_QUEUED
        elif fault in fault_table.REFUSAL_FAULTS:
            return provider.refusal(fault)
        limit = self.config.concurrency.get(provider.name)
        if (
            not provider.queues_when_full
            and limit is not None
            and self.store.active_count(provider.name, account) >= limit
        ):
            return provider.refusal("busy")
        if fault in fault_table.OUTCOME_FAULTS:
            if fault == "nsfw" and not provider.flags_nsfw:
                fault = "moderate"
            draft.outcome = {
                "fail": Outcome.FAIL,
                "moderate": Outcome.MODERATE,
                "nsfw": Outcome.NSFW,
                "never": Outcome.NEVER,
            }[fault]
        now = self.clock.now()
        job = draft.to_job(
            provider=provider.name,
            account=account,
            created_at=now,
            ready_at=now + self.config.queue_seconds,
            create_key=key,
            sequence=self.store.next_sequence(),
        )
        if prompt_faults.poll:
            job.poll_faults.append(prompt_faults.poll)
        self.store.add_job(job)
        self.store.count_accepted(key, job.id)
        self.advance()
        if provider.wants_webhook(job) and not job.state.is_terminal:
            self._ensure_ticker()
        return self._apply_response_fault(provider, fault, respond(job))

    def poll(
        self,
        provider: ProviderEmulator,
        request: Request,
        job_id: str,
        respond: Callable[[Job | None], Response],
    ) -> Response:
        """Authenticate, apply poll faults (armed, then the job's ``#poll-*`` token once), answer (``respond``)."""
        self.advance()
        account = provider.authenticate(request)
        if isinstance(account, Response):
            return account
        throttled = provider.throttle(account)
        if throttled is not None:
            return throttled
        job = self.store.get_job(provider.name, job_id)
        if job is not None and job.account != account:
            job = None  # another account's job does not exist for this caller
        fault = self.faults.take(provider.name, "poll", fault_table.POLL_FAULTS - fault_table.CONNECT_FAULTS)
        if fault is None and job is not None and job.poll_faults:
            fault = job.poll_faults.pop(0)
        if fault in fault_table.REFUSAL_FAULTS:
            return provider.refusal(fault)
        return self._apply_response_fault(provider, fault, respond(job))

    @staticmethod
    def _apply_response_fault(provider: ProviderEmulator, fault: str | None, response: Response) -> Response:
        if fault == "malformed":
            return provider.malformed()
        if fault in ("timeout", "reset"):
            response.headers[fault_table.TRANSPORT_FAULT_HEADER] = fault
        return response

    # ------------------------------------------------------------------ outputs

    def output_path(self, job: Job) -> Path:
        return Path(self.config.media_dir) / f"{job.provider}-{job.id}.mp4"

    def render_output(self, job: Job) -> Path:
        """Render the job's MP4 once (per-job lock) and return the cached file."""
        path = self.output_path(job)
        with self._render_locks_guard:
            lock = self._render_locks.setdefault(f"{job.provider}:{job.id}", threading.Lock())
        with lock:
            if not path.exists():
                spec = RenderSpec(
                    width=job.width,
                    height=job.height,
                    duration=job.duration,
                    images=job.images,
                    prompt=job.prompt,
                    audio=job.audio,
                    watermark=job.watermark,
                )
                render_mp4(spec, path)
        return path

    def output_size(self, job: Job) -> int:
        """The output's size in bytes if it was rendered already, else 0."""
        path = self.output_path(job)
        return path.stat().st_size if path.exists() else 0

    def serve_output(self, request: Request, provider: str, job_id: str) -> Response:
        self.advance()
        job = self.store.get_job(provider, job_id)
        if job is None or job.state.name != "SUCCEEDED":
            return json_response({"code": 404, "message": "file not found"}, 404)
        refused = self.providers[provider].authorize_file(request, job)
        if refused is not None:
            return refused
        path = self.render_output(job)
        return send_file(path, request.environ, mimetype="video/mp4", conditional=True, max_age=0)

    def serve_upload(self, request: Request, provider: str, name: str) -> Response:
        upload = self.store.get_upload(name.split(".", 1)[0])
        if upload is None:
            return json_response({"code": 404, "message": "file not found"}, 404)
        return Response(upload.data, mimetype=upload.content_type)

    # ------------------------------------------------------------------ control API

    def index(self, request: Request) -> Response:
        base = request.host_url.rstrip("/")
        return json_response(
            {
                "emulators": {name: f"{base}/{name}{emulator.api_prefix}" for name, emulator in self.providers.items()},
                "control": f"{base}/_control",
            }
        )

    def control_reset(self, request: Request) -> Response:
        self.store.reset()
        self.faults.clear()
        self.webhooks.clear()
        self._prerendered.clear()
        self.clock.offset = 0.0
        self.config.__dict__.update(
            replace(self._initial_config, concurrency=dict(self._initial_config.concurrency)).__dict__
        )
        self._sync_store_config()
        return json_response({"reset": True})

    def control_faults(self, request: Request) -> Response:
        if request.method == "POST":
            body = request_json(request)
            if not isinstance(body, dict):
                return json_response({"error": "expected a JSON object"}, 400)
            provider = body.get("provider", "*")
            if provider not in (*self.providers, "*"):
                return json_response({"error": f"unknown provider {provider!r}"}, 400)
            try:
                self.faults.arm(
                    provider=provider,
                    fault=str(body.get("fault", "")),
                    on=str(body.get("on", "create")),
                    times=int(body.get("times", 1)),
                )
            except (ValueError, TypeError) as exc:
                return json_response({"error": str(exc)}, 400)
        return json_response({"armed": self.faults.listing()})

    def control_config(self, request: Request) -> Response:
        if request.method == "POST":
            body = request_json(request)
            if not isinstance(body, dict):
                return json_response({"error": "expected a JSON object"}, 400)
            try:
                self.config.update(body)
            except ValueError as exc:
                return json_response({"error": str(exc)}, 400)
            self._sync_store_config()
            self._ensure_prerenderer()
        return json_response(self.config.public())

    def control_clock(self, request: Request) -> Response:
        body = request_json(request)
        try:
            seconds = float(body.get("advance", 0)) if isinstance(body, dict) else -1.0
        except (TypeError, ValueError):
            seconds = -1.0
        if seconds < 0:
            return json_response({"error": 'expected {"advance": seconds >= 0}'}, 400)
        self.clock.offset += seconds
        self.advance()
        return json_response({"now": self.clock.now(), "offset": self.clock.offset})

    def control_creates(self, request: Request) -> Response:
        return json_response(self.store.create_summary(request.args.get("key")))

    def control_jobs(self, request: Request) -> Response:
        self.advance()
        with self.store.lock:
            jobs = [
                {
                    "provider": job.provider,
                    "id": job.id,
                    "account": job.account,
                    "mode": str(job.mode),
                    "state": str(job.state),
                    "outcome": str(job.outcome),
                    "create_key": job.create_key,
                    "width": job.width,
                    "height": job.height,
                    "duration": job.duration,
                    "audio": job.audio,
                }
                for job in self.store.jobs.values()
            ]
        return json_response({"jobs": jobs})

    def control_billing(self, request: Request) -> Response:
        """A billing fault: make ``provider`` report another charge for one job (``credits`` for PixVerse's
        ``Resp.credits``, ``billed_seconds`` for DashScope's ``usage.duration``), as a provider's bill could differ."""
        body = request_json(request)
        if not isinstance(body, dict):
            return json_response({"error": "expected a JSON object"}, 400)
        job = self.store.get_job(str(body.get("provider", "")), str(body.get("job_id", "")))
        if job is None:
            return json_response({"error": "no such job"}, 404)
        changes = {"credits": "reported_credits", "billed_seconds": "reported_seconds"}
        for key, extra_key in changes.items():
            if key in body:
                value = body[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    return json_response({"error": f"{key} must be a non-negative integer"}, 400)
                job.extra[extra_key] = value
        return json_response({"job_id": job.id, "reported": {k: job.extra.get(v) for k, v in changes.items()}})

    def control_webhooks(self, request: Request) -> Response:
        return json_response({"webhooks": self.webhooks.listing()})


def create_app(**config: Any) -> EmulatorApp:
    """Build the emulator app. Keywords are ``EmulatorConfig`` fields (e.g. ``queue_seconds=0, run_seconds=0``)."""
    return EmulatorApp(EmulatorConfig(**config))
