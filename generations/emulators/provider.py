"""What every provider emulator shares: the job draft, the base class and small validation helpers.

A provider module only knows its wire format: routes, auth, request parsing (→ ``JobDraft``), error shapes and the
status views. Faults, limits, counting, timelines and files are the app's (``EmulatorApp.create``/``poll``).
"""

from __future__ import annotations

import abc
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from werkzeug.wrappers import Request, Response

from generations.emulators.media import InputError, load_image
from generations.emulators.store import Job, Outcome
from generations.providers.base import Mode
from generations.providers.dimensions import closest_aspect_ratio, output_dimensions

if TYPE_CHECKING:
    from generations.emulators.app import EmulatorApp

Route = tuple[str, list[str], Callable[..., Response], str]  # path, methods, handler, kind (create/poll/other)

BEIJING = timezone(timedelta(hours=8))


@dataclass
class JobDraft:
    """A validated create request, before faults and limits decide whether it becomes a ``Job``."""

    id: str
    mode: Mode
    model: str
    prompt: str
    resolution: str
    duration: int
    width: int
    height: int
    audio: bool = False
    aspect_ratio: str | None = None
    images: tuple[bytes, ...] = ()
    seed: int | None = None
    watermark: bool = False
    webhook_url: str = ""
    outcome: Outcome = Outcome.SUCCEED
    error_detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_job(
        self, *, provider: str, account: str, created_at: float, ready_at: float, create_key: str, sequence: int
    ) -> Job:
        return Job(
            id=self.id,
            provider=provider,
            account=account,
            mode=self.mode,
            model=self.model,
            prompt=self.prompt,
            resolution=self.resolution,
            duration=self.duration,
            width=self.width,
            height=self.height,
            audio=self.audio,
            aspect_ratio=self.aspect_ratio,
            images=self.images,
            seed=self.seed,
            watermark=self.watermark,
            outcome=self.outcome,
            error_detail=self.error_detail,
            webhook_url=self.webhook_url,
            create_key=create_key,
            created_at=created_at,
            ready_at=ready_at,
            extra={**self.extra, "sequence": sequence},
        )


class Invalid(Exception):
    """A request that fails validation. Providers turn it into their own error answer."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class LoadedImages:
    """Images fetched for a draft: bytes, the first image's size, and the first error (if any)."""

    images: tuple[bytes, ...]
    first_size: tuple[int, int] | None
    error: InputError | None


class ProviderEmulator(abc.ABC):
    """One provider's wire format. ``queues_when_full``: above the slot limit, queue (True) or refuse (False)."""

    name: ClassVar[str]
    #: The provider's own API root below ``/<name>`` (e.g. ``/api/v3``): ``/<name><api_prefix>`` is its base URL.
    api_prefix: ClassVar[str] = ""
    #: Active jobs per account before it queues or refuses (``None``: unlimited); ``EmulatorConfig.concurrency``.
    default_concurrency: ClassVar[int | None] = None
    queues_when_full: ClassVar[bool] = False
    flags_nsfw: ClassVar[bool] = False

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app

    @abc.abstractmethod
    def routes(self) -> list[Route]:
        """Routes below ``/<name>``."""

    @abc.abstractmethod
    def authenticate(self, request: Request) -> str | Response:
        """The account (the API key) or the provider's auth-failure answer."""

    @abc.abstractmethod
    def refusal(self, fault: str) -> Response:
        """The provider's answer for a refusal fault: ratelimit, busy, error500, error503, fail200."""

    @abc.abstractmethod
    def malformed(self) -> Response:
        """A truncated, unparseable answer."""

    def throttle(self, account: str) -> Response | None:
        """A rate-limit answer for a poll, or None. Default: never throttled."""
        return None

    def wants_webhook(self, job: Job) -> bool:
        return False

    def on_finished(self, job: Job) -> None:  # noqa: B027 - an optional hook, not abstract
        """Called once when a job ends (send webhooks here). Default: nothing."""

    def authorize_file(self, request: Request, job: Job) -> Response | None:
        """Refuse a download (expired link, bad signature), or None to serve it."""
        return None

    # ------------------------------------------------------------------ helpers for subclasses

    def base_url(self, request: Request) -> str:
        return f"{request.host_url.rstrip('/')}/{self.name}"

    def output_url(self, request: Request, job: Job) -> str:
        return f"{self.base_url(request)}/files/{job.id}.mp4"

    def upload_url(self, request: Request, upload_id: str, filename: str) -> str:
        suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
        return f"{self.base_url(request)}/files/uploads/{upload_id}.{suffix}"

    def check_key(self, key: str) -> bool:
        """Whether an API key is accepted (see ``EmulatorConfig.api_keys``)."""
        if not key:
            return False
        allowed = (self.app.config.api_keys or {}).get(self.name)
        if allowed is not None:
            return key in allowed
        return not key.lower().startswith("invalid")

    def load_images(self, urls: list[str]) -> LoadedImages:
        images: list[bytes] = []
        first_size: tuple[int, int] | None = None
        for url in urls:
            try:
                data, size = load_image(
                    url,
                    store=self.app.store,
                    transport=self.app.config.fetch_transport,
                    timeout=self.app.config.fetch_timeout_seconds,
                )
            except InputError as exc:
                return LoadedImages(tuple(images), first_size, exc)
            images.append(data)
            first_size = first_size or size
        return LoadedImages(tuple(images), first_size, None)


# ---------------------------------------------------------------------- validation helpers


def require_dict(value: Any, what: str = "request body") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"{what} must be a JSON object", code="type")
    return value


def get_str(body: dict[str, Any], key: str, *, required: bool = False, default: str = "") -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise Invalid(f"{key} is required", code="missing")
        return default
    if not isinstance(value, str):
        raise Invalid(f"{key} must be a string", code="type")
    if required and not value.strip():
        raise Invalid(f"{key} is required", code="missing")
    return value


def get_int(body: dict[str, Any], key: str, *, default: int | None, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{key} must be an integer", code="type")
    if not low <= value <= high:
        raise Invalid(f"{key} must be between {low} and {high}")
    return value


def get_bool(body: dict[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Invalid(f"{key} must be a boolean", code="type")
    return value


def get_choice(body: dict[str, Any], key: str, choices: tuple[str, ...], default: str | None) -> str:
    value = body.get(key)
    if value is None:
        if default is None:
            raise Invalid(f"{key} is required", code="missing")
        return default
    if value not in choices:
        raise Invalid(f"{key} must be one of {', '.join(choices)}")
    return str(value)


def check_prompt_refs(prompt: str, ref_names: list[str]) -> None:
    """PixVerse's documented rule: each ``@name`` is followed by a space and matches a ``ref_name``."""
    for match in re.finditer(r"@([^\s@]+)(\s|$)", prompt):
        name, after = match.group(1), match.group(2)
        if name not in ref_names:
            raise Invalid(f"@{name} in the prompt does not match any ref_name")
        if not after:
            raise Invalid(f"@{name} must be followed by a space")


def i2v_dimensions(resolution: str, size: tuple[int, int] | None) -> tuple[int, int, str]:
    """Image-to-video output follows the image: the supported aspect ratio nearest to it (16:9 if unknown)."""
    ratio = closest_aspect_ratio(*size) if size else "16:9"
    width, height = output_dimensions(resolution, ratio)
    return width, height, ratio


def iso_utc(timestamp: float) -> str:
    """``2023-04-01T12:34:56.789Z`` (WaveSpeed, PixVerse)."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def beijing_time(timestamp: float) -> str:
    """``YYYY-MM-DD HH:mm:ss.SSS`` in China Standard Time (DashScope's Beijing region)."""
    moment = datetime.fromtimestamp(timestamp, tz=BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def bearer_key(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
