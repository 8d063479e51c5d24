"""Creating and steering jobs: quote, create (validate → route → quote → hold, atomically), cancel, retry, remix.

``generation_create`` either returns a ``queued`` job holding exactly its quoted credits, or raises and changes
nothing: ``SpecValidationError`` (bad input, keyed by field) or ``GenerationRefused`` (no provider, not enough
credits, a cap, a frozen wallet — the message says which).
"""

from __future__ import annotations

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
from generations.services import enqueue
from generations.services.attempts import recording
from generations.services.lifecycle import finish_job
from generations.services.specs import ReferenceInput, build_spec, job_references
from generations.states import AT_PROVIDER, TERMINAL, State, transition
from generations.validation import SpecValidationError, validate_spec
from studio.teams.access import Perm, require_membership

if TYPE_CHECKING:
    from studio.accounts.models import User
    from studio.projects.models import Project

logger = logging.getLogger("generations.jobs")


class GenerationRefused(Exception):
    """The request is valid but cannot run now (no provider, credits, cap, frozen wallet). User-facing message."""


@dataclass(frozen=True)
class JobRequest:
    """What the composer (or the API) asks for. Names follow DESIGN.md §6."""

    mode: str
    prompt: str = ""
    resolution: str = "720p"
    duration: int = 5
    aspect_ratio: str = ""
    generate_audio_switch: bool = False
    seed: int | None = None
    negative_prompt: str = ""
    references: tuple[ReferenceInput, ...] = ()
    provider: str = AUTO


@dataclass(frozen=True)
class Preview:
    """A validated request with its price: shown on the confirm step before anything is held."""

    quote: Quote
    decision: routing.RoutingDecision
    warnings: tuple[str, ...]


def _check_assets(project: Project, references: Sequence[ReferenceInput]) -> None:
    for ref in references:
        if ref.asset.team_id != project.team_id:
            raise SpecValidationError({"references": ["Pick images from this team's asset library."]})


def generation_preview(*, user: User, project: Project, request: JobRequest) -> Preview:
    """Validate ``request``, choose its provider and price it. Changes nothing."""
    require_membership(user, project.team_id, Perm.GENERATE)
    _check_assets(project, request.references)
    spec = build_spec(
        job_id=uuid.uuid4(),
        mode=request.mode,
        prompt=request.prompt,
        resolution=request.resolution,
        duration=request.duration,
        aspect_ratio=request.aspect_ratio,
        generate_audio_switch=request.generate_audio_switch,
        seed=request.seed,
        negative_prompt=request.negative_prompt,
        references=request.references,
    )
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
    return Preview(quote=quote, decision=decision, warnings=tuple(warnings))


def generation_create(
    *,
    user: User,
    project: Project,
    request: JobRequest,
    parent: GenerationJob | None = None,
    lineage: str = Lineage.NONE,
) -> GenerationJob:
    """Create a job, hold its price and queue it — all or nothing (module docstring)."""
    preview = generation_preview(user=user, project=project, request=request)
    quote = preview.quote
    if quote.blocked_reason:
        raise GenerationRefused(quote.blocked_reason)
    try:
        with transaction.atomic():
            job = GenerationJob.objects.create(
                project=project,
                team_id=project.team_id,
                creator=user,
                mode=request.mode,
                prompt=request.prompt,
                negative_prompt=request.negative_prompt,
                resolution=request.resolution,
                duration=request.duration,
                aspect_ratio=request.aspect_ratio if request.mode != "i2v" else "",
                generate_audio_switch=request.generate_audio_switch,
                seed=request.seed,
                provider_requested=request.provider,
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
            enqueue.dispatch(provider=job.provider)
    except BillingError as exc:
        raise GenerationRefused(str(exc)) from exc
    return job


def job_request_from(job: GenerationJob, **overrides: Any) -> JobRequest:
    """The request that made ``job`` (for re-run and remix); raises ``MissingInput`` if an input was deleted."""
    fields: dict[str, Any] = {
        "mode": job.mode,
        "prompt": job.prompt,
        "resolution": job.resolution,
        "duration": job.duration,
        "aspect_ratio": job.aspect_ratio,
        "generate_audio_switch": job.generate_audio_switch,
        "seed": job.seed,
        "negative_prompt": job.negative_prompt,
        "references": tuple(job_references(job)),
        "provider": job.provider_requested,
    }
    fields.update(overrides)
    return JobRequest(**fields)


def generation_retry(*, user: User, job: GenerationJob) -> GenerationJob:
    """Run ``job``'s request again as a NEW job (new UUID, new hold, lineage ``retry``). Never resends the old one."""
    return generation_create(
        user=user, project=job.project, request=job_request_from(job), parent=job, lineage=Lineage.RETRY
    )


def remix_initial(job: GenerationJob) -> dict[str, Any]:
    """Composer initial data copied from ``job`` (the remix creates a new job with lineage ``remix``)."""
    data: dict[str, Any] = {
        "mode": job.mode,
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "resolution": job.resolution,
        "duration": job.duration,
        "aspect_ratio": job.aspect_ratio,
        "generate_audio_switch": job.generate_audio_switch,
        "seed": job.seed,
        "provider": job.provider_requested,
        "parent": str(job.pk),
    }
    refs = list(job.references.order_by("order"))
    if job.mode == "i2v" and refs:
        data["image"] = refs[0].asset_id
    for index, ref in enumerate(refs, start=1):
        data[f"ref_asset_{index}"] = ref.asset_id
        data[f"ref_name_{index}"] = ref.ref_name
        data[f"ref_type_{index}"] = ref.type
    return data


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
