"""Pages of the pipeline: the composer (with a confirm step that shows the exact price), the job page (htmx-polled
status), cancel/retry/remix, the project library fragment, and the providers' inbound webhooks.

Every object comes through ``studio.teams.access`` (outsiders get 404), via ``generations.selectors``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from billing.errors import BillingError
from generations import selectors
from generations.forms import ComposerForm
from generations.models import AUTO, GenerationJob, Lineage
from generations.providers.registry import ADAPTERS
from generations.services import library as library_services
from generations.services.jobs import (
    GenerationRefused,
    generation_cancel,
    generation_create,
    generation_preview,
    generation_retry,
    job_request_from,
    remix_initial,
)
from generations.services.library import LibraryError
from generations.services.specs import MissingInput
from generations.services.webhooks import webhook_receive
from generations.validation import SpecValidationError
from studio.teams import access
from studio.teams.access import Perm

CANCEL_POLICY = (
    "Canceling before the job reaches the provider returns your credits at once. Once the provider is working on "
    "it, the provider charges for it: the video is discarded when it arrives and that charge is passed on (unless "
    "the provider fails or can cancel, in which case your credits are returned)."
)


PICKER_SIZE = 60


def _composer_context(request: HttpRequest, form: ComposerForm, project: Any, **extra: Any) -> dict[str, Any]:
    from studio.assets.selectors import picker_assets

    provider = form.fields["provider"]
    provider.choices = [(AUTO, auto_label()), *[c for c in provider.choices if c[0] != AUTO]]  # type: ignore[attr-defined]
    return {
        "form": form,
        "project": project,
        "cancel_policy": CANCEL_POLICY,
        "picker_assets": picker_assets(team_id=project.team_id)[:PICKER_SIZE],
        "can_upload": access.can(request.user, project.team_id, Perm.UPLOAD),
        **extra,
    }


def auto_label() -> str:
    """What ``auto`` really does (generations.routing): by cost when the rate card has a cost column, otherwise the
    first available provider in a fixed order."""
    from generations.providers.registry import ADAPTERS, routing_order
    from generations.routing import provider_costs

    if provider_costs(resolution="720p", audio=False):
        return "Auto: the cheapest provider that can make it (by our cost per second)"
    order = ", ".join(str(ADAPTERS[name].label) for name in routing_order() if name in ADAPTERS)
    return f"Auto: the first that can make it, in this order: {order}"


@login_required
@require_GET
def asset_picker(request: HttpRequest, project_pk: int) -> HttpResponse:
    """htmx: the composer picker's tiles, searched like the asset library (name, tag, or ``@ref_name``)."""
    from studio.assets.selectors import asset_list

    project = access.get_project_for_user(request.user, project_pk, Perm.GENERATE)
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    assets = asset_list(team=project.team, query=query)[:PICKER_SIZE]
    return render(request, "generations/_picker_tiles.html", {"picker_assets": assets, "picker_query": query})


@login_required
def compose(request: HttpRequest, project_pk: int) -> HttpResponse:
    """GET: the composer (``?remix=<job>`` prefills a copy). POST: validate + price (confirm step); POST with
    ``edit``: back to the editable composer, values kept; POST with ``confirm``: create the job (hold the credits)
    and go to its page."""
    project = access.get_project_for_user(request.user, project_pk, Perm.GENERATE)
    if request.method != "POST":
        initial: dict[str, Any] = {}
        remix_of = request.GET.get("remix")
        missing: list[str] = []
        if remix_of:
            source = selectors.job_for_user(request.user, _uuid(remix_of))
            initial = remix_initial(source)
            missing = [
                f"@{ref.ref_name}" + (f" ({ref.asset_label})" if ref.asset_label else "")
                for ref in source.references.all()
                if ref.asset_id is None
            ]
        form = ComposerForm(initial=initial, team_id=project.team_id)
        context = _composer_context(request, form, project, missing_references=missing)
        return render(request, "generations/compose.html", context)
    form = ComposerForm(request.POST, team_id=project.team_id)
    if not form.is_valid():
        return render(request, "generations/compose.html", _composer_context(request, form, project), status=400)
    job_request = form.to_request()
    try:
        preview = generation_preview(user=request.user, project=project, request=job_request)  # type: ignore[arg-type]
    except SpecValidationError as exc:
        form.add_spec_errors(exc)
        return render(request, "generations/compose.html", _composer_context(request, form, project), status=400)
    except (GenerationRefused, BillingError) as exc:
        form.add_error(None, str(exc))
        return render(request, "generations/compose.html", _composer_context(request, form, project), status=400)
    if "edit" in request.POST:  # back from the confirm step with everything kept
        return render(request, "generations/compose.html", _composer_context(request, form, project))
    if "confirm" not in request.POST or preview.quote.blocked_reason:
        return render(
            request,
            "generations/compose.html",
            _composer_context(
                request,
                form,
                project,
                preview=preview,
                confirming=True,
                submission=uuid4(),
                **blocked_help(request.user, project, preview),
            ),
        )
    token = _uuid(request.POST["submission"]) if request.POST.get("submission") else None
    existing = _already_created(request.user, token)
    if existing is not None:  # the same confirm form posted twice (double click, back + resubmit)
        return existing
    parent = None
    if form.cleaned_data.get("parent"):
        parent = selectors.job_for_user(request.user, form.cleaned_data["parent"])
    try:
        job = generation_create(
            user=request.user,  # type: ignore[arg-type]
            project=project,
            request=job_request,
            parent=parent,
            lineage=Lineage.REMIX if parent else Lineage.NONE,
            job_id=token,
        )
    except IntegrityError:
        return _already_created(request.user, token) or redirect("projects:detail", pk=project.pk)
    except SpecValidationError as exc:
        form.add_spec_errors(exc)
        return render(request, "generations/compose.html", _composer_context(request, form, project), status=400)
    except GenerationRefused as exc:
        form.add_error(None, str(exc))
        return render(request, "generations/compose.html", _composer_context(request, form, project), status=400)
    messages.success(request, f"Generation queued: {job.quoted_credits} credits are held until it finishes.")
    return redirect("generations:job", pk=job.pk)


@login_required
@require_POST
def quote(request: HttpRequest, project_pk: int) -> HttpResponse:
    """htmx: the live price of the composer's current input (a fragment; changes nothing)."""
    project = access.get_project_for_user(request.user, project_pk, Perm.GENERATE)
    form = ComposerForm(request.POST, team_id=project.team_id)
    context: dict[str, Any] = {"project": project}
    if form.is_valid():
        context["provider_support"] = provider_support(form.to_request())
        try:
            context["preview"] = generation_preview(
                user=request.user,  # type: ignore[arg-type]
                project=project,
                request=form.to_request(),
            )
        except SpecValidationError as exc:
            context["problems"] = [m for messages_ in exc.errors.values() for m in messages_]
        except (GenerationRefused, BillingError) as exc:
            context["problems"] = [str(exc)]
    else:
        context["problems"] = [
            f"{form.fields[name].label or name}: {' '.join(str(e) for e in errors)}"
            if name in form.fields
            else " ".join(str(e) for e in errors)
            for name, errors in form.errors.items()
        ]
    return render(request, "generations/_quote.html", context)


def provider_support(job_request: Any) -> dict[str, str]:
    """For each provider, "" when it can make this video, else why not (the composer disables it with the reason)."""
    from generations import routing

    try:
        spec = job_request.to_spec(job_id=uuid4())
    except (ValueError, MissingInput):
        return {}
    return {name: routing.supports(name, spec) for name in ADAPTERS}


def _uuid(value: str) -> UUID:
    from django.http import Http404

    try:
        return UUID(str(value))
    except ValueError:
        raise Http404("No such job.") from None


def _job_context(request: HttpRequest, job: GenerationJob) -> dict[str, Any]:
    return {
        "job": job,
        "can_generate": access.can(request.user, job.team_id, Perm.GENERATE),
        "can_cancel": access.may_cancel_job(request.user, job),
        "can_delete": access.may_delete_job(request.user, job),
        "cancel_policy": CANCEL_POLICY,
        "references": job.references.select_related("asset"),
        "wait_reason": selectors.wait_reason(job),
    }


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    job = selectors.job_for_user(request.user, pk)
    context = _job_context(request, job)
    context["events"] = selectors.job_events(job)
    return render(request, "generations/job.html", context)


@login_required
@require_GET
def job_status(request: HttpRequest, pk: UUID) -> HttpResponse:
    """htmx fragment, re-polled every 2 s until the job is finished. ``?format=json`` for scripts and tests."""
    job = selectors.job_for_user(request.user, pk)
    if request.GET.get("format") == "json":
        return JsonResponse({"id": str(job.pk), "state": job.state, "terminal": job.is_terminal})
    return render(request, "generations/_status.html", _job_context(request, job))


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: UUID) -> HttpResponse:
    job = selectors.job_for_user(request.user, pk, perm=Perm.GENERATE)
    if not access.may_cancel_job(request.user, job):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only the job's creator or a team admin may cancel it.")
    messages.info(request, generation_cancel(user=request.user, job=job))  # type: ignore[arg-type]
    return redirect("generations:job", pk=job.pk)


@login_required
def job_retry(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Run the same request again as a new job (new hold), after a confirm step with the price, like a new job.
    GET (or a POST without ``confirm``): the price and the button. POST with ``confirm``: create it. The old job is
    never resent."""
    job = selectors.job_for_user(request.user, pk, perm=Perm.GENERATE)
    user = access.request_user(request)
    try:
        job_request = job_request_from(job)
        preview = generation_preview(user=user, project=job.project, request=job_request)
    except (SpecValidationError, GenerationRefused, MissingInput, BillingError) as exc:
        messages.error(request, f"Could not re-run: {exc}")
        return redirect("generations:job", pk=job.pk)
    if request.method != "POST" or "confirm" not in request.POST or preview.quote.blocked_reason:
        context = {"job": job, "preview": preview, "submission": uuid4(), **blocked_help(user, job.project, preview)}
        return render(request, "generations/retry_confirm.html", context)
    token = _uuid(request.POST.get("submission", "")) if request.POST.get("submission") else None
    existing = _already_created(user, token)
    if existing is not None:
        return existing
    try:
        new_job = generation_retry(user=user, job=job, job_id=token)
    except (SpecValidationError, GenerationRefused, MissingInput) as exc:
        messages.error(request, f"Could not re-run: {exc}")
        return redirect("generations:job", pk=job.pk)
    except IntegrityError:
        return _already_created(user, token) or redirect("generations:job", pk=job.pk)
    messages.success(request, f"Re-run queued: {new_job.quoted_credits} credits held.")
    return redirect("generations:job", pk=new_job.pk)


def _already_created(user: Any, token: UUID | None) -> HttpResponse | None:
    """A second POST of the same confirm form: the job it made the first time, never a second job."""
    if token is None:
        return None
    job = GenerationJob.objects.filter(pk=token, creator=user).only("pk").first()
    if job is None:
        return None
    return redirect("generations:job", pk=job.pk)


def blocked_help(user: Any, project: Any, preview: Any) -> dict[str, Any]:
    """When credits or caps block a job: why, and the way out (buy credits, or which admins to ask)."""
    reason = preview.quote.blocked_reason
    if not reason:
        return {}
    from billing.models import Wallet

    wallet = Wallet.objects.filter(pk=preview.quote.wallet_id).first()
    team = project.team
    pool = wallet is not None and wallet.team_id is not None
    may_buy = access.can(user, team, Perm.MANAGE_BILLING) if pool else True
    admins = [member.email for member in access.members_with(team, Perm.MANAGE_BILLING) if member.pk != user.pk]
    cap = reason.startswith("Over the monthly limit")
    return {
        "blocked_reason": reason,
        "blocked_cap": cap,
        "buy_url": reverse("billing:buy", kwargs={"team_id": team.pk}) if may_buy and not cap else "",
        "ask_admins": admins if (cap or not may_buy) else [],
    }


@login_required
@require_POST
def job_delete(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Delete one finished video from its job page (files removed, charges kept on record, audited)."""
    job = selectors.job_for_user(request.user, pk)
    try:
        library_services.videos_delete(user=access.request_user(request), jobs=[job], request=request)
    except LibraryError as exc:
        messages.error(request, str(exc))
        return redirect("generations:job", pk=job.pk)
    messages.success(request, "Video deleted. Its charge stays on record in billing.")
    return redirect("projects:detail", pk=job.project_id)


@login_required
@require_GET
def job_remix(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Open the composer prefilled with this job's settings (the new job records this one as its parent)."""
    job = selectors.job_for_user(request.user, pk, perm=Perm.GENERATE)
    return redirect(f"{reverse('generations:compose', kwargs={'project_pk': job.project_id})}?remix={job.pk}")


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """Inbound provider webhook: verified, then it only prompts a poll (``generations.services.webhooks``)."""
    if provider not in ADAPTERS:
        return JsonResponse({"detail": "unknown provider"}, status=404)
    outcome = webhook_receive(provider=provider, body=request.body, headers=dict(request.headers))
    ack = ADAPTERS[provider].webhook_ack_body
    if ack and outcome.status < 300:
        # A provider that resends until it reads its exact acknowledgement gets it (PixVerse: HTTP 200 "ok").
        return HttpResponse(ack, content_type="text/plain", status=200)
    response = JsonResponse({"detail": outcome.detail}, status=outcome.status)
    if outcome.retry_after is not None:
        response["Retry-After"] = str(outcome.retry_after)
    return response


@login_required
def staff_provider_bills(request: HttpRequest) -> HttpResponse:
    """Staff only (404 to everyone else): provider bills next to our charges (``generations.provider_bills``)."""
    from datetime import date, timedelta

    from django.http import Http404
    from django.utils import timezone

    from generations.provider_bills import provider_balances, provider_bill_report

    if not getattr(request.user, "is_staff", False):
        raise Http404("Not found.")
    default = timezone.now().date() - timedelta(days=7)
    raw = request.GET.get("since", "")
    error = ""
    try:
        since = date.fromisoformat(raw) if raw else default
    except ValueError:
        since, error = default, "Give the first day as YYYY-MM-DD."
    report = provider_bill_report(since=since)
    context = {"report": report, "since": since, "error": error, "balances": provider_balances()}
    return render(request, "generations/staff_provider_bills.html", context)
