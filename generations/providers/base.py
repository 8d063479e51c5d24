"""The contract between the studio and a provider adapter: dataclasses at the boundary, one abstract adapter.

An adapter only builds requests and parses answers (django-anymail's ``base_requests`` pattern): the base class owns
the submit sequence (``submit``: support check → ``build_create`` → ``send_create`` → ``parse_created``, with an
unreadable answer turned into ``AmbiguousSubmitError``), and each adapter supplies its request builder and its
response parser. HTTP goes through ``generations.providers.http`` (the single seam), and every failure is one of
``generations.providers.errors``.

Invariants every adapter keeps:
- ``submit`` sends at most one create request per call, and raises ``AmbiguousSubmitError`` whenever that request may
  have reached the provider but no provider job id was read back.
- ``poll`` never reads an unknown status or malformed body as "still running": it raises.
- Anything the provider cannot do raises ``UnsupportedFeatureError`` from ``check_supported`` before any request.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from generations.providers.errors import (
    AmbiguousSubmitError,
    MalformedResponseError,
    PermanentError,
    UnsupportedFeatureError,
    WebhookVerificationError,
)

RESOLUTIONS: tuple[str, ...] = ("360p", "540p", "720p", "1080p")
ASPECT_RATIOS: tuple[str, ...] = ("16:9", "9:16", "4:3", "3:4", "1:1", "2:3", "3:2", "21:9")
REFERENCE_TYPES: tuple[str, ...] = ("subject", "background")
SEED_MAX = 2_147_483_647
MIN_DURATION = 1
MAX_DURATION = 15
MAX_REFERENCES = 7
PROMPT_MAX_CHARS = 2048

ReferenceType = Literal["subject", "background"]


class Mode(enum.StrEnum):
    IMAGE_TO_VIDEO = "i2v"
    REFERENCE_TO_VIDEO = "r2v"
    TEXT_TO_VIDEO = "t2v"

    @property
    def label(self) -> str:
        return _MODE_LABELS[self]


_MODE_LABELS = {
    Mode.IMAGE_TO_VIDEO: "image-to-video",
    Mode.REFERENCE_TO_VIDEO: "reference-to-video",
    Mode.TEXT_TO_VIDEO: "text-to-video",
}


class ProviderState(enum.StrEnum):
    """The normalized state of a job at a provider (providers.md §5)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    MODERATED = "moderated"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self not in (ProviderState.QUEUED, ProviderState.RUNNING)


@dataclass(frozen=True)
class ImageInput:
    """One input image. The adapter turns it into what its provider takes (URL, uploaded URL, ``img_id``).

    ``url`` is a URL the provider can fetch (our signed asset URL under PUBLIC_BASE_URL); ``content`` holds the bytes
    for providers that upload. ``provider_ref`` carries a cached upload result (PixVerse ``img_id``, WaveSpeed
    download URL) so the same asset is not uploaded twice; ``sha256`` is the cache key.
    """

    sha256: str
    url: str = ""
    content: bytes | None = None
    filename: str = "image.png"
    content_type: str = "image/png"
    provider_ref: str = ""


@dataclass(frozen=True)
class Reference:
    """A reference-to-video image, named ``@ref_name`` in the prompt."""

    ref_name: str
    type: ReferenceType
    image: ImageInput


@dataclass(frozen=True)
class JobSpec:
    """What to generate. Names follow the providers' public parameter names (DESIGN.md §6).

    ``job_id`` is our job's UUID: it is sent as the ``Idempotency-Key`` header on the create request, so a provider
    (and the emulator's create counter) can tie every create to the job.

    ``trace_id`` is the client trace id of the create (PixVerse ``Ai-trace-id``), minted and stored with the job by
    the pipeline *before* the paid call (DESIGN.md §3), so an ambiguous create can still be traced. Adapters whose
    provider takes one send it on the create (never on polls or uploads, which get fresh ones); empty means "mint one".
    """

    job_id: UUID
    mode: Mode
    prompt: str
    resolution: str = "720p"
    duration: int = 5
    aspect_ratio: str | None = None
    generate_audio_switch: bool = False
    seed: int | None = None
    negative_prompt: str = ""
    watermark: bool = False
    image: ImageInput | None = None
    references: tuple[Reference, ...] = ()
    webhook_url: str = ""
    trace_id: str = ""


@dataclass(frozen=True)
class SubmitResult:
    """A create the provider accepted. ``trace_id`` is the PixVerse ``Ai-trace-id`` (or the request id) sent."""

    provider_job_id: str
    state: ProviderState = ProviderState.QUEUED
    trace_id: str = ""
    raw_status: str = ""


@dataclass(frozen=True)
class CreateRequest:
    """The one paid create an adapter builds for a spec: ``POST {base}{path}`` with a JSON body."""

    path: str
    json: dict[str, Any]
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PollResult:
    """The provider's view of one job, normalized.

    ``billed_seconds`` is what the provider says it billed (DashScope ``usage.duration``); ``None`` when it does not
    say, in which case the requested duration is billed. ``nsfw`` is set when the provider flagged the output.
    ``output_url_ttl`` is how long the output URL stays valid, when the provider says (HighwayAPI ``video_url_ttl``).
    ``billed_seconds`` and ``provider_credits`` are what provider-bill reconciliation compares with our charge.
    """

    state: ProviderState
    raw_status: str
    output_url: str = ""
    billed_seconds: float | None = None
    nsfw: bool = False
    error_code: str = ""
    error_message: str = ""
    width: int | None = None
    height: int | None = None
    has_audio: bool | None = None
    output_url_ttl: float | None = None
    #: What the provider reports it charged, in its own credits (PixVerse ``Resp.credits``), when it says.
    provider_credits: int | None = None
    #: A hint in seconds for the next poll, when the provider gave one (the poll engine's schedule honours it).
    retry_after: float | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do with the C1 model.

    Checked before any request (see ``ProviderAdapter.check_supported`` and ``check_capabilities``).
    """

    modes: frozenset[Mode]
    resolutions: frozenset[str] = frozenset(RESOLUTIONS)
    min_duration: int = MIN_DURATION
    max_duration: int = MAX_DURATION
    aspect_ratios: frozenset[str] = frozenset(ASPECT_RATIOS)
    audio: bool = True
    seed: bool = False
    negative_prompt: bool = False
    watermark: bool = False
    cancel: bool = False
    webhooks: bool = False
    max_references: int = MAX_REFERENCES
    prompt_max_chars: int = PROMPT_MAX_CHARS
    #: Modes in which the provider refuses an empty prompt.
    prompt_required: frozenset[Mode] = frozenset()
    #: The create carries a caller-chosen trace id (``JobSpec.trace_id``; PixVerse ``Ai-trace-id``).
    client_trace_id: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ProviderConfig:
    """One provider account, from ``settings.PROVIDERS[name]`` (see ``generations.providers.registry``)."""

    api_key: str = ""
    base_url: str = ""
    webhook_secret: str = ""
    #: A webhook registered in the provider's console, named in each create (PixVerse ``webhook_id``).
    webhook_id: str = ""
    concurrency: int = 1
    enabled: bool = True
    #: This provider talks to the local emulator (no API key): only then may its output URLs be on loopback.
    emulated: bool = False


def check_capabilities(provider: str, capabilities: Capabilities, spec: JobSpec) -> None:
    """Raise ``UnsupportedFeatureError`` for the first option of ``spec`` that ``capabilities`` rules out.

    The one data-driven capability check; adapters call it from ``check_supported`` and add their own quirks.
    ``option`` is the JobSpec field name, so callers can attach the message to a form field.
    """

    def refuse(option: str, detail: str) -> UnsupportedFeatureError:
        return UnsupportedFeatureError(provider=provider, option=option, detail=detail)

    caps = capabilities
    if spec.mode not in caps.modes:
        supported = ", ".join(sorted(m.value for m in caps.modes))
        raise refuse("mode", f"{Mode(spec.mode).label} is not available here (supported: {supported})")
    if spec.resolution not in caps.resolutions:
        raise refuse("resolution", f"{spec.resolution} is not offered")
    if not caps.min_duration <= spec.duration <= caps.max_duration:
        raise refuse("duration", f"duration must be {caps.min_duration}-{caps.max_duration} s, got {spec.duration}")
    if spec.mode != Mode.IMAGE_TO_VIDEO and spec.aspect_ratio and spec.aspect_ratio not in caps.aspect_ratios:
        raise refuse("aspect_ratio", f"{spec.aspect_ratio} is not offered")
    if spec.generate_audio_switch and not caps.audio:
        raise refuse("generate_audio_switch", "it cannot generate audio")
    if spec.seed is not None and not caps.seed:
        raise refuse("seed", "it does not take a seed for C1; leave the seed empty")
    if spec.negative_prompt and not caps.negative_prompt:
        raise refuse("negative_prompt", "it does not take a negative prompt for C1; leave it empty")
    if spec.watermark and not caps.watermark:
        raise refuse("watermark", "it cannot add a watermark")
    if len(spec.references) > caps.max_references:
        raise refuse("references", f"at most {caps.max_references} references, got {len(spec.references)}")
    if spec.mode in caps.prompt_required and not spec.prompt.strip():
        raise refuse("prompt", f"{Mode(spec.mode).label} needs a prompt")
    if len(spec.prompt) > caps.prompt_max_chars:
        raise refuse("prompt", f"the prompt may be at most {caps.prompt_max_chars} characters")


_MODERATION_HINTS = ("moderat", "sensitive", "nsfw", "inappropriate", "violat", "inspection", "unsafe", "policy")


def is_moderation_message(text: str) -> bool:
    """True when a provider's free-text failure reason reads as a content-moderation refusal (heuristic [I])."""
    lowered = text.lower()
    return any(hint in lowered for hint in _MODERATION_HINTS)


class ProviderAdapter(abc.ABC):
    """One provider. Subclasses set ``name``, ``capabilities`` and implement the request/answer pairs.

    An adapter is cheap to build and holds no connection: ``ProviderAdapter()`` (empty config) is enough for
    ``check_supported``, which never does I/O.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    # --- The provider's facts (providers.md). Settings, routing, poll timing and tests read them from here.
    #: The real API root, and the emulator's root below ``EMULATOR_URL`` (``/<name>/...``).
    api_base_url: ClassVar[str] = ""
    emulator_path: ClassVar[str] = ""
    #: Environment names: ``<env_prefix>_API_KEY``, ``_BASE_URL``, ``_CONCURRENCY``, ``_WEBHOOK_SECRET``, ...
    env_prefix: ClassVar[str] = ""
    #: Jobs we run at once on one account unless ``<env_prefix>_CONCURRENCY`` says otherwise.
    default_concurrency: ClassVar[int] = 1
    #: The provider's floor for the interval between two polls of a job, in seconds.
    min_poll_seconds: ClassVar[float] = 0.0
    #: ``auto`` routing order when no cost tells them apart (lower first).
    routing_rank: ClassVar[int] = 100
    #: What the local emulator uses, so a key-less setup verifies its webhooks with no configuration.
    emulator_webhook_secret: ClassVar[str] = ""
    emulator_webhook_id: ClassVar[str] = ""
    #: The body a webhook delivery we accepted must be answered with (HTTP 200, text/plain), when the provider
    #: requires one (PixVerse: ``ok``, else it resends); "" answers with our JSON.
    webhook_ack_body: ClassVar[str] = ""

    @classmethod
    def verify_webhook(cls, *, body: bytes, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
        """The verified payload of an inbound webhook; ``WebhookVerificationError`` when it is not genuine."""
        raise WebhookVerificationError(f"{cls.name} does not send webhooks we can verify")

    @classmethod
    def webhook_job_id(cls, payload: Mapping[str, Any]) -> str:
        """The provider job id a verified payload is about."""
        raise WebhookVerificationError(f"{cls.name} does not send webhooks")

    def __init__(self, config: ProviderConfig | None = None) -> None:
        self.config = config or ProviderConfig()

    def check_supported(self, spec: JobSpec) -> None:
        """Raise ``UnsupportedFeatureError`` naming the provider and the option for anything it cannot do.

        The capability matrix says almost everything; override only for a quirk the data cannot express.
        """
        check_capabilities(self.name, self.capabilities, spec)

    def upload_image(self, image: ImageInput) -> str:
        """Return the provider's handle for ``image`` (URL or id), uploading it when the provider needs that.

        Safe to retry: an upload is not a paid call. This default is for providers that fetch public URLs
        themselves and have no upload endpoint: the cached handle or the image's own (signed, public) URL.
        """
        handle = image.provider_ref or image.url
        if not handle:
            raise PermanentError(f"{self.label} needs a public image URL", provider=self.name, code="no_image_url")
        return handle

    def submit(self, spec: JobSpec) -> SubmitResult:
        """Send the one paid create request: support check, then send, then ambiguous-outcome handling.

        ``parse_created`` raising ``MalformedResponseError`` means the provider answered 2xx but we cannot read a job
        id: the create may have been accepted, so it is ``AmbiguousSubmitError`` (reconciled, never resent).
        """
        self.check_supported(spec)
        request = self.build_create(spec)
        answer = self.send_create(spec, request)
        try:
            return self.parse_created(answer)
        except MalformedResponseError as exc:
            raise AmbiguousSubmitError(f"{exc.message}; the create may have been accepted", provider=self.name) from exc

    @abc.abstractmethod
    def build_create(self, spec: JobSpec) -> CreateRequest:
        """The create request for ``spec`` (may upload images first: uploads are free and safe to retry)."""

    @abc.abstractmethod
    def send_create(self, spec: JobSpec, request: CreateRequest) -> Any:
        """Send ``request`` through the seam as a create (``is_create=True``, the job UUID as idempotency key)."""

    @abc.abstractmethod
    def parse_created(self, answer: Any) -> SubmitResult:
        """Read the provider's job id from the create's answer; ``MalformedResponseError`` when it is not there."""

    def find_created(self, spec: JobSpec, *, sent_at: datetime) -> list[str] | None:
        """Ask the provider which jobs may be the create of ``spec`` sent at ``sent_at`` (reconciling ``unknown``).

        Returns the candidate provider job ids (possibly empty: nothing that matches was created), or ``None`` when
        the provider offers no way to look a create up (the default). Never creates anything; the caller accepts a
        candidate only when the answer is unambiguous.
        """
        return None

    @abc.abstractmethod
    def poll(self, provider_job_id: str) -> PollResult:
        """Read the job's state. Transport failures raise ``TransientError``; unreadable answers raise."""

    def cancel(self, provider_job_id: str) -> bool:
        """Ask the provider to cancel. True if it did; False if it is too late. Unsupported by default."""
        raise NotImplementedError

    def expired_means_not_yet(self, result: PollResult) -> bool:
        """For an EXPIRED answer about a job younger than the provider's horizon: True when it means "no answer yet"
        (retry the poll) rather than "gone" (a provider quirk; by default an expired job is gone)."""
        return False
