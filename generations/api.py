"""API: quotes and generations of the token's team, built on ``generation_preview`` / ``generation_create`` (the same
entry points, validation messages and money rules as the composer).

``request_from_body`` is the ONE place that turns an API body into a ``JobRequest`` (parameter names as the providers
publish them: ``prompt``, ``resolution``, ``duration``, ``aspect_ratio``, ``generate_audio_switch``, ``seed``;
references ``{asset, ref_name, type}``).

Idempotency: ``POST /generations`` with an ``Idempotency-Key`` header stores the first successful response with a
hash of the body, in the same transaction as the job; a repeat with the same key and body gets that response again
(header ``Idempotent-Replayed: true``), a repeat with another body gets 422. Concurrent repeats wait on the key's
unique index, so they make one job and one hold. Refused requests are not stored: fix the problem and retry.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.params import functions as param_functions

from billing.errors import BillingError, CapExceeded, InsufficientCredits, OutstandingDebt, WalletFrozen
from billing.quotes import Quote
from generations.models import AUTO, GenerationJob, IdempotencyKey, Lineage, ModeChoice
from generations.services.jobs import (
    GenerationRefused,
    Preview,
    generation_cancel,
    generation_create,
    generation_preview,
    job_request_from,
)
from generations.services.requests import JobRequest
from generations.services.specs import MissingInput
from generations.states import TERMINAL, State
from generations.validation import SpecValidationError, normalize_prompt
from studio.accounts.models import ApiToken
from studio.apikit import (
    MAX_ID,
    ApiError,
    In,
    decode_cursor,
    encode_cursor,
    errors,
    rate_limit,
    token_of,
)
from studio.assets.models import Asset
from studio.files import signed_url
from studio.moderation.visibility import job_case, job_video_hidden
from studio.projects.models import Project
from studio.teams import access
from studio.teams.access import Perm

router = Router()
quotes_router = Router()

IDEMPOTENCY_KEY_MAX = 255
I2V: str = ModeChoice.IMAGE_TO_VIDEO.value
IdempotencyHeader = Annotated[
    str | None, param_functions.Header(None, alias="Idempotency-Key", max_length=IDEMPOTENCY_KEY_MAX + 64)
]


class ReferenceIn(In):
    asset: int = Field(..., ge=1, le=MAX_ID, description="An asset id of the token's team.")
    ref_name: str = Field("", max_length=60, description="Default: the asset's ref_name.")
    type: str = Field("subject", max_length=20, description="subject or background.")


class GenerationIn(In):
    project_id: int = Field(..., ge=1, le=MAX_ID)
    mode: Literal["t2v", "i2v", "r2v"] = Field(..., description="t2v (text), i2v (image) or r2v (references).")
    prompt: str = Field("", max_length=10_000)
    negative_prompt: str = Field("", max_length=10_000)
    resolution: str = Field("720p", max_length=10, description="360p, 540p, 720p or 1080p.")
    duration: int = Field(5, ge=-(2**63), le=2**63, description="Seconds.")
    aspect_ratio: str = Field("", max_length=10, description="e.g. 16:9; empty for i2v.")
    generate_audio_switch: bool = False
    seed: int | None = Field(None, ge=-(2**63), le=2**63)
    image: int | None = Field(None, ge=1, le=MAX_ID, description="i2v: the asset to animate.")
    references: list[ReferenceIn] = Field(default_factory=list, max_length=20)
    provider: str = Field(AUTO, max_length=20, description="auto (cheapest healthy) or a provider name.")


class RemixIn(In):
    """What to change from the original job; everything else is copied."""

    prompt: str | None = Field(None, max_length=10_000)
    negative_prompt: str | None = Field(None, max_length=10_000)
    resolution: str | None = Field(None, max_length=10)
    duration: int | None = Field(None, ge=-(2**63), le=2**63)
    aspect_ratio: str | None = Field(None, max_length=10)
    generate_audio_switch: bool | None = None
    seed: int | None = Field(None, ge=-(2**63), le=2**63)
    provider: str | None = Field(None, max_length=20)


class WalletRef(Schema):
    id: int
    label: str


class QuoteOut(Schema):
    ok: bool = Field(description="True when the job may be queued now.")
    blocked_reason: str
    credits: int
    rate_per_second: int
    seconds: int
    rate_card_version: int
    wallet: WalletRef
    balance: int
    balance_after: int
    cap_remaining: int | None
    cap_ok: bool
    provider: str
    routing_reason: str
    warnings: list[str]


class ReferenceOut(Schema):
    asset: int | None
    ref_name: str
    type: str


class EventOut(Schema):
    from_state: str
    to_state: str
    note: str
    at: datetime


class CostOut(Schema):
    quoted_credits: int
    charged_credits: int | None
    billed_seconds: float | None


class VideoOut(Schema):
    width: int | None
    height: int | None
    duration: float | None
    has_audio: bool | None
    size_bytes: int | None
    codec: str


class ModerationOut(Schema):
    hidden: bool = Field(description="True while the video is under review or taken down: no video, no download.")
    state: str = Field(description="The review case's state (open, context, approved, taken_down, appealed, …).")
    reason: str = Field(description="The reviewer's reason, once decided.")


class GenerationOut(Schema):
    id: UUID
    project_id: int
    state: str
    terminal: bool
    mode: str
    prompt: str
    negative_prompt: str
    resolution: str
    duration: int
    aspect_ratio: str
    generate_audio_switch: bool
    seed: int | None
    references: list[ReferenceOut]
    provider: str
    routing_reason: str
    queue_position: int | None = Field(description="1 = next to be sent; null unless queued.")
    cost: CostOut
    error_code: str
    error_message: str
    cancel_requested: bool
    parent_id: UUID | None
    lineage: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    video: VideoOut | None
    events: list[EventOut] | None = None
    message: str | None = None
    moderation: ModerationOut | None = Field(None, description="Present when the video has a moderation case.")


class GenerationPage(Schema):
    items: list[GenerationOut]
    next_cursor: str | None


class DownloadOut(Schema):
    url: str
    expires_at: datetime
    filename: str


class GenerationFilters(Schema):
    project_id: int | None = Field(None, ge=1, le=MAX_ID)
    state: str = Field("", max_length=20)
    mode: str = Field("", max_length=5)
    mine: bool = False
    cursor: str = Field("", max_length=200)
    limit: int = Field(50, ge=1, le=200)


# --- API body → JobRequest (the one conversion) --------------------------------------------------------------------


def _assets_by_id(token: ApiToken, ids: list[int]) -> dict[int, Asset]:
    return {a.pk: a for a in access.token_visible(token, Asset.objects.filter(pk__in=ids))}


def request_from_body(token: ApiToken, body: GenerationIn) -> tuple[Project, JobRequest]:
    """The project and ``JobRequest`` an API body asks for. Assets must be the token team's (422, the same message
    for another team's asset as for a missing one); everything else, retired and taken-down assets included, is left
    to ``generation_preview`` and the validation module, so API users get the composer's messages."""
    project = access.token_get(token, Project.objects.select_related("team"), perm=Perm.GENERATE, pk=body.project_id)
    if project.is_archived:
        raise ApiError(409, "project_archived", "The project is archived; restore it to generate in it.", "project_id")
    wanted = [ref.asset for ref in body.references] + ([body.image] if body.image else [])
    assets = _assets_by_id(token, wanted)
    for asset_id in wanted:
        asset = assets.get(asset_id)
        if asset is None:
            raise ApiError(422, "validation_error", f"No asset {asset_id} in this team's library.", field="references")
    if body.mode == I2V and body.references:
        raise ApiError(
            422,
            "validation_error",
            "Image-to-video takes one image ('image'), not references; send 'image' or use mode r2v.",
            field="references",
        )
    # The schema has checked types and bounds; the one request type builds the rest (generations/services/requests).
    data: dict[str, Any] = body.dict(exclude={"project_id"})
    data["references"] = [ref.dict() for ref in body.references] if body.mode != I2V else []
    if body.image is None or body.mode != I2V:
        data.pop("image")
    if body.mode != I2V and not body.aspect_ratio:
        data["aspect_ratio"] = "16:9"
    data["provider"] = body.provider or AUTO
    try:
        return project, JobRequest.from_api(data, team_id=project.team_id)
    except SpecValidationError as exc:
        raise _spec_error(exc) from exc


# --- Errors --------------------------------------------------------------------------------------------------------


def _spec_error(exc: SpecValidationError) -> ApiError:
    details = [{"field": field, "message": message} for field, messages in exc.errors.items() for message in messages]
    first = details[0] if details else {"field": None, "message": str(exc)}
    return ApiError(422, "validation_error", str(first["message"]), field=first["field"], details=details)


def _blocked(quote: Quote) -> ApiError:
    """The error for a quote that may not run, checked in ``quote_job``'s order: 409 for a frozen wallet, 402 for a
    debt, a cap or too few credits, 422 for a resolution without a price. (A role that may not generate was refused
    with 403 before any quote.)"""
    from billing.models import Wallet

    wallet = Wallet.objects.get(pk=quote.wallet_id)
    if wallet.frozen:
        return ApiError(409, "wallet_frozen", quote.blocked_reason)
    if wallet.debt > 0:
        return ApiError(402, "outstanding_debt", quote.blocked_reason)
    if quote.cap_remaining is not None and quote.credits > quote.cap_remaining:
        return ApiError(402, "over_cap", quote.blocked_reason)
    if quote.credits > quote.balance:
        return ApiError(402, "insufficient_credits", quote.blocked_reason)
    return ApiError(422, "validation_error", quote.blocked_reason, field="resolution")


def _refused(exc: GenerationRefused) -> ApiError:
    cause = exc.__cause__
    if isinstance(cause, InsufficientCredits):
        return ApiError(402, "insufficient_credits", str(exc))
    if isinstance(cause, CapExceeded):
        return ApiError(402, "over_cap", str(exc))
    if isinstance(cause, OutstandingDebt):  # buying credits clears it: a payment is what is required
        return ApiError(402, "outstanding_debt", str(exc))
    if isinstance(cause, WalletFrozen):
        return ApiError(409, "wallet_frozen", str(exc))
    if isinstance(cause, BillingError):
        return ApiError(409, "refused", str(exc))
    return ApiError(409, "no_provider", str(exc), field="provider")


def _preview(token: ApiToken, project: Project, request: JobRequest) -> Preview:
    try:
        return generation_preview(user=token.user, project=project, request=request)
    except SpecValidationError as exc:
        raise _spec_error(exc) from exc
    except GenerationRefused as exc:
        raise _refused(exc) from exc


def _create(
    token: ApiToken, project: Project, request: JobRequest, *, parent: GenerationJob | None = None
) -> GenerationJob:
    preview = _preview(token, project, request)
    if preview.quote.blocked_reason:
        raise _blocked(preview.quote)
    try:
        return generation_create(
            user=token.user,
            project=project,
            request=request,
            parent=parent,
            lineage=Lineage.REMIX if parent else Lineage.NONE,
        )
    except SpecValidationError as exc:
        raise _spec_error(exc) from exc
    except GenerationRefused as exc:
        raise _refused(exc) from exc


# --- Output ----------------------------------------------------------------------------------------------------------


def queue_position(job: GenerationJob) -> int | None:
    """1 + the queued jobs sent before this one (oldest queued first), or None when it is not queued."""
    if job.state != State.QUEUED or job.queued_at is None:
        return None
    ahead = GenerationJob.objects.filter(state=State.QUEUED).filter(
        Q(queued_at__lt=job.queued_at) | Q(queued_at=job.queued_at, pk__lt=job.pk)
    )
    return ahead.count() + 1


def _moderation_out(job: GenerationJob) -> ModerationOut | None:
    """What moderation shows the team (the API acts as a member: a token never sees a hidden video)."""
    case = job_case(job)
    if case is None:
        return None
    return ModerationOut(hidden=bool(case.hidden), state=case.state, reason=case.decision_reason)


def generation_out(job: GenerationJob, *, events: bool = False, message: str | None = None) -> GenerationOut:
    video = None
    moderation = _moderation_out(job)
    if job.state == State.SUCCEEDED and job.output and not (moderation and moderation.hidden):
        video = VideoOut(
            width=job.video_width,
            height=job.video_height,
            duration=job.video_duration,
            has_audio=job.has_audio,
            size_bytes=job.output_size,
            codec=job.video_codec,
        )
    return GenerationOut(
        id=job.pk,
        project_id=job.project_id,
        state=job.state,
        terminal=job.state in TERMINAL,
        mode=job.mode,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        resolution=job.resolution,
        duration=job.duration,
        aspect_ratio=job.aspect_ratio,
        generate_audio_switch=job.generate_audio_switch,
        seed=job.seed,
        references=[ReferenceOut(asset=r.asset_id, ref_name=r.ref_name, type=r.type) for r in job.references.all()],
        provider=job.provider,
        routing_reason=job.routing_reason,
        queue_position=queue_position(job),
        cost=CostOut(
            quoted_credits=job.quoted_credits, charged_credits=job.charged_credits, billed_seconds=job.billed_seconds
        ),
        error_code=job.error_code,
        error_message=job.error_message,
        cancel_requested=job.cancel_requested,
        parent_id=job.parent_id,
        lineage=job.lineage,
        created_by=job.creator.email,
        created_at=job.created_at,
        finished_at=job.finished_at,
        video=video,
        events=[
            EventOut(from_state=e.from_state, to_state=e.to_state, note=e.note, at=e.at)
            for e in job.events.order_by("at", "id")
        ]
        if events
        else None,
        message=message,
        moderation=moderation,
    )


def _job(request: HttpRequest, job_id: UUID, perm: Perm = Perm.VIEW) -> GenerationJob:
    queryset = GenerationJob.objects.select_related("project", "team", "creator", "moderation_case")
    return access.token_get(token_of(request), queryset, perm=perm, pk=job_id)


# --- Quotes ----------------------------------------------------------------------------------------------------------


@quotes_router.post("", response={200: QuoteOut, **errors(403, 404, 409, 422)}, summary="Price a generation")
def quote_create(request: HttpRequest, body: GenerationIn) -> QuoteOut:
    """POST the body of a generation: its exact price, the paying wallet, the balance after and the cap check.
    Changes nothing. A request that may not run now answers ``ok: false`` with the reason."""
    token = token_of(request)
    project, job_request = request_from_body(token, body)
    preview = _preview(token, project, job_request)
    quote = preview.quote
    return QuoteOut(
        ok=quote.ok,
        blocked_reason=quote.blocked_reason,
        credits=quote.credits,
        rate_per_second=quote.rate_per_second,
        seconds=quote.seconds,
        rate_card_version=quote.rate_card_version,
        wallet=WalletRef(id=quote.wallet_id, label=quote.wallet_label),
        balance=quote.balance,
        balance_after=quote.balance_after,
        cap_remaining=quote.cap_remaining,
        cap_ok=quote.cap_remaining is None or quote.credits <= quote.cap_remaining,
        provider=preview.decision.provider,
        routing_reason=preview.decision.reason,
        warnings=list(preview.warnings),
    )


# --- Generations -----------------------------------------------------------------------------------------------------


def _body_hash(body: Schema) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_key(key: str) -> str:
    key = key.strip()
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise ApiError(
            422,
            "validation_error",
            f"The Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable characters (a UUID is a good choice).",
            field="Idempotency-Key",
        )
    return key


@router.post(
    "",
    response={201: GenerationOut, **errors(402, 403, 404, 409, 422, 429)},
    summary="Create a generation (holds its price)",
)
def generation_create_view(
    request: HttpRequest,
    body: GenerationIn,
    idempotency_key: IdempotencyHeader = None,
) -> Any:
    """Validate, price and queue a job, holding its price. Send an ``Idempotency-Key`` header to retry safely."""
    token = token_of(request)
    rate_limit(request, "submit")
    project, job_request = request_from_body(token, body)
    if idempotency_key is None:
        return Status(201, generation_out(_create(token, project, job_request)))
    key = _check_key(idempotency_key)
    digest = _body_hash(body)
    with transaction.atomic():
        # The first request's INSERT holds the key's unique index until it commits; a concurrent repeat blocks on it
        # here and then finds the finished record (or, if the first rolled back, creates it itself).
        record, created = IdempotencyKey.objects.get_or_create(
            user=token.user, team_id=token.team_id or 0, key=key, defaults={"request_hash": digest}
        )
        if not created:
            if record.request_hash != digest:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used with a different request body; use a new key for a new request.",
                    field="Idempotency-Key",
                )
            return _stored_response(record, replayed=True)
        job = _create(token, project, job_request)
        out = generation_out(job)
        record.job = job
        record.status_code = 201
        record.response = out.model_dump_json()
        record.save(update_fields=["job", "status_code", "response"])
    # Rendered from the stored JSON, so the first answer and every replay are byte-for-byte the same.
    return _stored_response(record, replayed=False)


def _stored_response(record: IdempotencyKey, *, replayed: bool) -> HttpResponse:
    response = HttpResponse(record.response, status=record.status_code, content_type="application/json")
    response["Idempotent-Replayed"] = "true" if replayed else "false"
    return response


@router.get("", response={200: GenerationPage, **errors(404, 422)}, summary="List generations (filters, cursor)")
def generation_list(request: HttpRequest, filters: Query[GenerationFilters]) -> GenerationPage:
    token = token_of(request)
    jobs = access.token_visible(token, GenerationJob.objects.exclude(state=State.DRAFT)).select_related(
        "creator", "moderation_case"
    )
    if filters.project_id is not None:
        jobs = jobs.filter(project_id=filters.project_id)
    if filters.state:
        if filters.state not in State.values:
            raise ApiError(422, "validation_error", f"Unknown state; use one of {', '.join(State.values)}.", "state")
        jobs = jobs.filter(state=filters.state)
    if filters.mode:
        jobs = jobs.filter(mode=filters.mode)
    if filters.mine:
        jobs = jobs.filter(creator=token.user)
    if filters.cursor:
        created, pk = decode_cursor(filters.cursor)
        try:
            last = UUID(pk)
        except ValueError:
            raise ApiError(422, "invalid_cursor", "The cursor is not one this API returned.", field="cursor") from None
        jobs = jobs.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=last))
    page = list(jobs.prefetch_related("references").order_by("-created_at", "-pk")[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return GenerationPage(
        items=[generation_out(job) for job in page],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].pk) if more and page else None,
    )


@router.get("/{job_id}", response={200: GenerationOut, **errors(404)}, summary="Get a generation (state, events)")
def generation_get(request: HttpRequest, job_id: UUID) -> GenerationOut:
    return generation_out(_job(request, job_id), events=True)


@router.post("/{job_id}/cancel", response={200: GenerationOut, **errors(403, 404, 409)}, summary="Cancel")
def generation_cancel_view(request: HttpRequest, job_id: UUID) -> GenerationOut:
    """Before the provider has it: canceled, credits returned. After: the provider's charge is passed on (see
    ``message``). 409 when the job already finished."""
    token = token_of(request)
    job = _job(request, job_id, Perm.GENERATE)
    if not access.token_may_cancel(token, job):
        raise ApiError(403, "forbidden", "Only the job's creator or a team admin may cancel it.")
    if job.state in TERMINAL:
        raise ApiError(409, "state_conflict", f"The job has already finished ({job.state}).")
    message = generation_cancel(user=token.user, job=job)
    job.refresh_from_db()
    return generation_out(job, events=True, message=message)


@router.post(
    "/{job_id}/remix",
    response={201: GenerationOut, **errors(402, 403, 404, 409, 422, 429)},
    summary="Remix: a new job from this one's settings",
)
def generation_remix(request: HttpRequest, body: RemixIn, job_id: UUID) -> Status[GenerationOut]:
    token = token_of(request)
    job = _job(request, job_id, Perm.GENERATE)
    rate_limit(request, "submit")
    overrides: dict[str, Any] = {k: v for k, v in body.model_dump().items() if v is not None}
    if "prompt" in overrides:
        overrides["prompt"] = normalize_prompt(overrides["prompt"])
    try:
        job_request = job_request_from(job, **overrides)
    except MissingInput as exc:
        raise ApiError(409, "input_missing", str(exc), field="references") from exc
    if any(ref.asset.retired_at is not None for ref in job_request.references):
        raise ApiError(409, "input_retired", "An input asset of this job is retired; create a new job.", "references")
    return Status(201, generation_out(_create(token, job.project, job_request, parent=job)))


@router.get("/{job_id}/download", response={200: DownloadOut, **errors(404, 409)}, summary="A signed download URL")
def generation_download(request: HttpRequest, job_id: UUID) -> DownloadOut:
    """A URL of the MP4 that expires after SIGNED_FILE_URL_MAX_AGE seconds. 409 until the job has succeeded."""
    job = _job(request, job_id)
    if job.state != State.SUCCEEDED or not job.output:
        raise ApiError(409, "state_conflict", f"The video is not ready (the job is {job.state}).")
    if job_video_hidden(job):
        raise ApiError(409, "moderation_hidden", "The video is hidden while moderation reviews it (or was taken down).")
    filename = f"{job.project.name[:40].strip() or 'video'}-{str(job.pk)[:8]}.mp4".replace('"', "")
    return DownloadOut(
        url=signed_url(job.output.name or "", absolute=True, download_as=filename),
        expires_at=timezone.now() + timedelta(seconds=settings.SIGNED_FILE_URL_MAX_AGE),
        filename=filename,
    )
