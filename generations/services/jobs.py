"""Creating and steering jobs: quote, create (validate → route → quote → hold, atomically), cancel, retry, remix.

The request type is ``generations.services.requests.JobRequest`` (re-exported here): build it with
``JobRequest.from_form``, ``JobRequest.from_api`` or ``JobRequest.from_job``.

``generation_create`` either returns a ``queued`` job holding exactly its quoted credits, or raises and changes
nothing: ``SpecValidationError`` (bad input, keyed by field) or ``GenerationRefused`` (no provider, not enough
credits, a cap, a frozen wallet — the message says which).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from billing import ledger
from billing.errors import BillingError
from billing.quotes import Quote, quote_job
from billing.wallets import wallet_for_spending
from generations import routing
from generations.models import AUTO, GenerationJob, JobReference, Lineage
from generations.providers.errors import ProviderError
from generations.providers.registry import get_adapter
from generations.services import enqueue, moderation
from generations.services.attempts import recording
from generations.services.lifecycle import finish_job
from generations.services.requests import JobRequest
from generations.services.specs import ReferenceInput
from generations.states import AT_PROVIDER, TERMINAL, State, transition
from generations.validation import SpecValidationError, validate_spec
from studio.moderation.prescreen import Screening
from studio.teams.access import Perm, require_membership

if TYPE_CHECKING:
    from studio.accounts.models import User
    from studio.projects.models import Project

logger = logging.getLogger("generations.jobs")


class GenerationRefused(Exception):
    """The request is valid but cannot run now (no provider, credits, cap, frozen wallet). User-facing message."""


@dataclass(frozen=True)
class Preview:
    """A validated request with its price: shown on the confirm step before anything is held."""

    quote: Quote
    decision: routing.RoutingDecision
    warnings: tuple[str, ...]
    screening: Screening = dataclasses.field(default_factory=Screening)


def _check_assets(project: Project, references: Sequence[ReferenceInput]) -> None:
    for ref in references:
        if ref.asset.team_id != project.team_id:
            raise SpecValidationError({"references": ["Pick images from this team's asset library."]})
    retired = sorted({f"@{ref.asset.ref_name}" for ref in references if ref.asset.retired_at is not None})
    if retired:
        names = ", ".join(retired)
        raise SpecValidationError(
            {"references": [f"{names} is retired; restore it in the asset library or pick another image."]}
        )
    from studio.moderation.services import taken_down_asset_ids

    down = taken_down_asset_ids([ref.asset.pk for ref in references])
    if down:
        names = ", ".join(sorted({f"@{ref.asset.ref_name}" for ref in references if ref.asset.pk in down}))
        raise SpecValidationError({"references": [f"{names} was taken down by moderation; pick another image."]})


def generation_preview(*, user: User, project: Project, request: JobRequest) -> Preview:
    """Validate ``request``, choose its provider and price it. Changes nothing."""
    require_membership(user, project.team_id, Perm.GENERATE)
    if project.is_archived:
        raise GenerationRefused(f"{project.name} is archived; restore it (or pick another project) to make videos.")
    screening = moderation.screen_request(
        user=user, team=project.team, prompt=request.prompt, negative_prompt=request.negative_prompt
    )
    _check_assets(project, request.references)
    spec = request.to_spec(job_id=uuid.uuid4())
    warnings = validate_spec(spec, provider=None if request.provider == AUTO else request.provider)
    try:
        decision = routing.choose_provider(spec=spec, requested=request.provider)
    except routing.NoProviderAvailable as exc:
        raise GenerationRefused(str(exc)) from exc
    quote = quote_job(
        user=user,
        team=project.team,
        resolution=request.resolution,
        duration=request.duration,
        audio=request.generate_audio_switch,
    )
    return Preview(quote=quote, decision=decision, warnings=tuple(warnings), screening=screening)


def generation_create(
    *,
    user: User,
    project: Project,
    request: JobRequest,
    parent: GenerationJob | None = None,
    lineage: str = Lineage.NONE,
    job_id: uuid.UUID | None = None,
) -> GenerationJob:
    """Create a job, hold its price and queue it — all or nothing (module docstring).

    ``job_id`` (the confirm form's submission token) makes a second submit of the same form fail on the primary key
    (``IntegrityError``) instead of making a second job."""
    preview = generation_preview(user=user, project=project, request=request)
    quote = preview.quote
    if quote.blocked_reason:
        raise GenerationRefused(quote.blocked_reason)
    try:
        with transaction.atomic():
            job = GenerationJob.objects.create(
                id=job_id or uuid.uuid4(),
                project=project,
                team_id=project.team_id,
                creator=user,
                **request.job_fields(),
                provider=preview.decision.provider,
                routing_reason=preview.decision.reason,
                quoted_credits=quote.credits,
                rate_card_version=quote.rate_card_version,
                parent=parent,
                lineage=lineage,
            )
            JobReference.objects.bulk_create(
                JobReference(
                    job=job, asset=ref.asset, ref_name=ref.ref_name or ref.asset.ref_name, type=ref.type, order=index
                )
                for index, ref in enumerate(request.references)
            )
            hold = ledger.hold(
                wallet=wallet_for_spending(user=user, team=project.team),
                amount=quote.credits,
                key=str(job.pk),
                user=user,
                team=project.team,
                description=f"{job.get_mode_display()} video, {request.duration} s at {request.resolution}",
                reference_meta={
                    "reference": str(job.pk),
                    "project_id": project.pk,
                    "resolution": request.resolution,
                    "audio": request.generate_audio_switch,
                    "provider": preview.decision.provider,
                    "seconds": request.duration,
                    "rate_card_version": quote.rate_card_version,
                },
            )
            transition(
                job,
                to=State.QUEUED,
                from_states=[State.DRAFT],
                note=f"{quote.credits} credits held; {preview.decision.reason}"[:500],
                actor_id=user.pk,
                hold=hold,
                queued_at=timezone.now(),
            )
            moderation.on_job_created(job, preview.screening)
            enqueue.dispatch(provider=job.provider)
    except BillingError as exc:
        raise GenerationRefused(str(exc)) from exc
    return job


def job_request_from(job: GenerationJob, **overrides: Any) -> JobRequest:
    """The request that made ``job`` (kept for callers; it is ``JobRequest.from_job``)."""
    return JobRequest.from_job(job, **overrides)


def generation_retry(*, user: User, job: GenerationJob, job_id: uuid.UUID | None = None) -> GenerationJob:
    """Run ``job``'s request again as a NEW job (new UUID, new hold, lineage ``retry``). Never resends the old one."""
    return generation_create(
        user=user, project=job.project, request=job_request_from(job), parent=job, lineage=Lineage.RETRY, job_id=job_id
    )


def remix_initial(job: GenerationJob) -> dict[str, Any]:
    """Composer initial data copied from ``job`` (the remix creates a new job with lineage ``remix``)."""
    references = tuple(
        ReferenceInput(asset=ref.asset, ref_name=ref.ref_name, type=ref.type)
        for ref in job.references.select_related("asset").order_by("order")
        if ref.asset is not None
    )
    return {**JobRequest.from_job(job, references=references).composer_initial(), "parent": str(job.pk)}


def generation_cancel(*, user: User, job: GenerationJob) -> str:
    """Cancel ``job``; returns what happened, for the user.

    Before submit: canceled now, hold released. DashScope while PENDING: canceled at the provider, hold released.
    Otherwise: ``cancel_requested`` is set; the pipeline discards the output when it arrives and charges what the
    provider billed (the policy shown on the job page). Finished jobs are left alone.
    """
    if job.state in TERMINAL:
        return "This job has already finished."
    if job.state in (State.DRAFT, State.QUEUED) and finish_job(
        job,
        to=State.CANCELED,
        from_states=[State.DRAFT, State.QUEUED],
        note="canceled before submit",
        actor_id=user.pk,
    ):
        return "Canceled. Your credits were returned."
    GenerationJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.refresh_from_db()
    if job.state in AT_PROVIDER and job.provider_job_id:
        adapter = get_adapter(job.provider)
        if adapter.capabilities.cancel:
            try:
                with recording(job.pk):
                    canceled = adapter.cancel(job.provider_job_id)
            except (ProviderError, NotImplementedError) as exc:
                logger.warning("job %s: provider cancel failed: %s", job.pk, exc)
                canceled = False
            if canceled and finish_job(
                job,
                to=State.CANCELED,
                from_states=[State.SUBMITTED, State.RUNNING],
                note=f"canceled at {job.provider} while pending",
                actor_id=user.pk,
            ):
                return "Canceled at the provider. Your credits were returned."
    if job.state in TERMINAL:
        return "This job has already finished."
    return (
        "Cancel requested. The provider is already working on it and will charge for it: when the video arrives it "
        "is discarded and the provider's charge is passed on. If the provider fails, your credits are returned."
    )
