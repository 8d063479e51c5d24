"""Pages of moderation: the staff review queue (filters, open count, bulk actions), a case (prompt, references,
player on a staff-only signed URL, provider verdict, creator's record, actions), pre-screen terms, policy,
restrictions; and the members' side: report a video or a reference asset, answer a reviewer, appeal a takedown.

Staff pages answer 404 to everyone else (``access.require_staff``); the members' actions go through the access
module like every team object.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from generations import selectors as job_selectors
from generations.providers.registry import ADAPTERS
from studio.files import signed_url
from studio.moderation import selectors
from studio.moderation.forms import PolicyForm, RestrictionForm, ScreenTermForm
from studio.moderation.models import Case, Restriction, ScreenTerm, Source, Strike
from studio.moderation.policy import POLICY_FIELDS, policy_get, policy_update
from studio.moderation.prescreen import screen_term_add, screen_term_remove
from studio.moderation.services import (
    Decision,
    ModerationRefused,
    appeal_decide,
    appeal_file,
    asset_report_submit,
    case_claim,
    case_decide,
    case_target_url,
    context_reply,
    refund_by_default,
    report_submit,
    restriction_add,
    restriction_lift,
)
from studio.teams import access


def _user(request: HttpRequest) -> Any:
    return request.user


# --- Staff: the queue ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    access.require_staff(request.user)
    filters = {
        "source": request.GET.get("source", "") if request.GET.get("source", "") in Source.values else "",
        "team": request.GET.get("team", "").replace("\x00", "")[:100],
        "provider": request.GET.get("provider", "") if request.GET.get("provider", "") in ADAPTERS else "",
        "state": request.GET.get("state", "open") if request.GET.get("state") in selectors.STATE_FILTERS else "open",
        "age": request.GET.get("age", "") if request.GET.get("age", "") in selectors.AGE_FILTERS else "",
    }
    cases = list(selectors.queue_cases(**filters)[:100])
    context = {
        "cases": cases,
        "filters": filters,
        "open_count": selectors.open_case_count(),
        "sources": Source.choices,
        "providers": sorted(ADAPTERS),
        "states": selectors.STATE_FILTERS,
        "ages": selectors.AGE_FILTERS,
    }
    return render(request, "moderation/queue.html", context)


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Bulk approve / take down: each case is its own compare-and-set on the version the reviewer saw."""
    reviewer = access.require_staff(request.user)
    decision = request.POST.get("decision", "")
    if decision not in (Decision.APPROVE, Decision.TAKE_DOWN):
        messages.error(request, "Choose approve or take down.")
        return redirect("moderation:queue")
    reason = request.POST.get("reason", "").replace("\x00", "")[:2000]
    done, refused = 0, []
    for raw in request.POST.getlist("case"):
        case_id, _, version = raw.partition(":")
        if not (case_id.isdigit() and version.isdigit()):
            continue
        case = Case.objects.select_related("job", "team", "creator").filter(pk=int(case_id)).first()
        if case is None:
            continue
        try:
            case_decide(
                case=case, version=int(version), reviewer=reviewer, decision=decision, reason=reason, request=request
            )
            done += 1
        except ModerationRefused as exc:
            refused.append(f"case {case_id}: {exc}")
    if done:
        messages.success(request, f"{done} case{'s' if done != 1 else ''} decided.")
    for problem in refused:
        messages.error(request, problem)
    if not done and not refused:
        messages.error(request, "Select at least one case.")
    return redirect("moderation:queue")


@login_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_staff(request.user, pk)
    job = case.job
    references = list(job.references.select_related("asset")) if job is not None else []
    media: dict[str, str] = {}
    if job is not None:
        output, poster = job.output.name, job.poster.name
        if not output and case.quarantine:
            output = f"quarantine/{case.quarantine.get('output', '')}" if case.quarantine.get("output") else ""
            poster = f"quarantine/{case.quarantine.get('poster', '')}" if case.quarantine.get("poster") else ""
        media = {"video": signed_url(output, staff=True), "poster": signed_url(poster, staff=True)}
    asset = case.asset
    if asset is not None:
        image = asset.file.name or (f"quarantine/{case.quarantine['file']}" if case.quarantine.get("file") else "")
        media = {"image": signed_url(image, staff=True)}
    context = {
        "case": case,
        "job": job,
        "asset": asset,
        "references": [
            {"ref": ref, "thumb": signed_url(ref.asset.thumbnail.name or ref.asset.file.name, staff=True)}
            for ref in references
            if ref.asset is not None
        ],
        "media": media,
        "signals": case.signals.select_related("reporter"),
        "history": case.history.select_related("actor"),
        "record": selectors.creator_record(case),
        "strike": Strike.objects.filter(case=case).first(),
        "refund_default": refund_by_default(case),
        "has_reports": case.signals.filter(source=Source.MEMBER_REPORT).exists(),
        "claimed_by_other": case.claimed_by_id not in (None, request.user.pk) and case.claimed_until is not None,
    }
    return render(request, "moderation/case.html", context)


@login_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_staff(request.user, pk)
    try:
        case_claim(case=case, reviewer=_user(request))
        messages.success(request, "You are reviewing this case; others cannot decide it while your claim lasts.")
    except ModerationRefused as exc:
        messages.error(request, str(exc))
    return redirect("moderation:case", pk=case.pk)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_staff(request.user, pk)
    version = request.POST.get("version", "")
    refund_choice = request.POST.get("refund", "")
    try:
        if not version.isdigit():
            raise ModerationRefused("The form is out of date; reload the case.")
        case_decide(
            case=case,
            version=int(version),
            reviewer=_user(request),
            decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", "").replace("\x00", "")[:2000],
            refund=None if refund_choice not in ("refund", "keep") else refund_choice == "refund",
            request=request,
        )
        messages.success(request, "Decision recorded; the creator and the team's admins were notified.")
    except ModerationRefused as exc:
        messages.error(request, str(exc))
    return redirect("moderation:case", pk=case.pk)


@login_required
@require_POST
def decide_appeal(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_staff(request.user, pk)
    version = request.POST.get("version", "")
    try:
        if not version.isdigit():
            raise ModerationRefused("The form is out of date; reload the case.")
        appeal_decide(
            case=case,
            version=int(version),
            reviewer=_user(request),
            overturn=request.POST.get("outcome") == "overturn",
            reason=request.POST.get("reason", "").replace("\x00", "")[:2000],
            request=request,
        )
        messages.success(request, "Appeal decided; the creator and the team's admins were notified.")
    except ModerationRefused as exc:
        messages.error(request, str(exc))
    return redirect("moderation:case", pk=case.pk)


# --- Staff: terms, policy, restrictions -----------------------------------------------------------------------------


@login_required
def terms(request: HttpRequest) -> HttpResponse:
    access.require_staff(request.user)
    form = ScreenTermForm(request.POST or None)
    if request.method == "POST":
        delete_id = request.POST.get("delete", "")
        if delete_id.isdigit():
            doomed = ScreenTerm.objects.filter(pk=int(delete_id)).first()
            if doomed is not None:
                screen_term_remove(actor=_user(request), term=doomed, request=request)
                messages.success(request, "Term removed.")
            return redirect("moderation:terms")
        if form.is_valid():
            term = screen_term_add(
                actor=_user(request),
                term=form.cleaned_data["term"],
                action=form.cleaned_data["action"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
            messages.success(request, f"“{term.term}” now {term.get_action_display().lower()}.")
            return redirect("moderation:terms")
    return render(request, "moderation/terms.html", {"form": form, "terms": ScreenTerm.objects.all()})


@login_required
def policy(request: HttpRequest) -> HttpResponse:
    actor = access.require_staff(request.user)
    current = policy_get()
    form = PolicyForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in POLICY_FIELDS}
        current.refresh_from_db()
        policy_update(actor=actor, request=request, **values)
        messages.success(request, "Policy saved.")
        return redirect("moderation:policy")
    return render(request, "moderation/policy.html", {"form": form, "policy": current})


@login_required
def restrictions(request: HttpRequest) -> HttpResponse:
    by = access.require_staff(request.user)
    form = RestrictionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            restriction_add(
                by=by,
                reason=form.cleaned_data["reason"],
                user=form.cleaned_data.get("user_obj"),
                team=form.cleaned_data.get("team_obj"),
                request=request,
            )
            messages.success(request, "Restricted; the composer shows your reason.")
            return redirect("moderation:restrictions")
        except ModerationRefused as exc:
            form.add_error(None, str(exc))
    active = Restriction.objects.filter(lifted_at__isnull=True).select_related("user", "team", "created_by")
    return render(request, "moderation/restrictions.html", {"form": form, "restrictions": active})


@login_required
@require_POST
def restriction_lift_view(request: HttpRequest, pk: int) -> HttpResponse:
    by = access.require_staff(request.user)
    restriction = Restriction.objects.filter(pk=pk).first()
    if restriction is None:
        from django.http import Http404

        raise Http404("Not found.")
    restriction_lift(restriction=restriction, by=by, request=request)
    messages.success(request, "Restriction lifted.")
    return redirect("moderation:restrictions")


# --- Members: report, reply, appeal ----------------------------------------------------------------------------------


@login_required
@require_POST
def report(request: HttpRequest, pk: UUID) -> HttpResponse:
    job = job_selectors.job_for_user(request.user, pk)
    try:
        report_submit(user=_user(request), job=job, reason=request.POST.get("reason", ""))
        messages.success(request, "Thanks — a reviewer will look at this video.")
    except ModerationRefused as exc:
        messages.error(request, str(exc))
    return redirect("generations:job", pk=job.pk)


@login_required
@require_POST
def report_asset(request: HttpRequest, pk: int) -> HttpResponse:
    asset = access.get_asset_for_user(request.user, pk)
    try:
        asset_report_submit(user=_user(request), asset=asset, reason=request.POST.get("reason", ""))
        messages.success(request, "Thanks — a reviewer will look at this asset.")
    except ModerationRefused as exc:
        messages.error(request, str(exc))
    return redirect("assets:detail", pk=asset.pk)


@login_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_for_user(request.user, Case.objects.select_related("team"), pk=pk)
    try:
        context_reply(case=case, user=_user(request), message=request.POST.get("message", ""))
        messages.success(request, "Reply sent to the reviewers.")
    except ModerationRefused as exc:
        messages.error(request, str(exc))
    return redirect(case_target_url(case))


@login_required
@require_POST
def appeal(request: HttpRequest, pk: int) -> HttpResponse:
    strike = access.get_for_user(request.user, Strike.objects.select_related("case", "team"), pk=pk)
    try:
        appeal_file(strike=strike, user=_user(request), message=request.POST.get("message", ""), request=request)
        messages.success(request, "Appeal sent. A different reviewer will look at it.")
    except ModerationRefused as exc:
        messages.error(request, str(exc))
    return redirect(case_target_url(strike.case))
