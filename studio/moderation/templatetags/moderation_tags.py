"""Moderation bits for the library card and the job page, as one-line includes:

- ``{% if job|video_visible_to:request.user %}`` gates the player and download links (the rule in
  ``studio.moderation.visibility``);
- ``{% moderation_card job %}``: the card's tombstone / "under review" notice and "Report" button;
- ``{% moderation_job_panel job %}``: the job page's review, decision, charge outcome and appeal panel;
- ``{% moderation_asset_panel asset %}``: the asset page's takedown notice, appeal, reviewer's question and "Report";
- ``{% moderation_composer_notice project %}``: a restriction the composer shows before anything is typed.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import get_template
from django.utils import timezone

from studio.moderation.models import CaseState, ChargeOutcome, Strike
from studio.moderation.visibility import is_reviewer, job_case, video_hidden_for

register = template.Library()


@register.filter
def video_visible_to(job: Any, user: Any) -> bool:
    return not video_hidden_for(user, job)


def _base(context: Any, job: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    case = job_case(job)
    return {
        "job": job,
        "case": case,
        "user": user,
        "request": request,
        "is_staff": is_reviewer(user),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def moderation_card(context: Any, job: Any) -> str:
    """The card's moderation block (``moderation/_card.html``). Rendered only when it has something to show: a case
    (tombstone, "under review") or a finished video to report. A library page's running, failed and canceled cards
    have neither, and rendering the template for each cost ~40 µs a card for no output."""
    case = job_case(job)
    if case is None and not (job.state == "succeeded" and job.output):
        return ""
    return get_template("moderation/_card.html").render(_base(context, job))


@register.inclusion_tag("moderation/_job_panel.html", takes_context=True)
def moderation_job_panel(context: Any, job: Any) -> dict[str, Any]:
    data = _base(context, job)
    case = data["case"]
    strike = Strike.objects.filter(case=case).select_related("case").first() if case is not None else None
    user = data["user"]
    data.update(
        strike=strike,
        appeal=getattr(strike, "appeal", None) if strike is not None else None,
        may_appeal=strike is not None and user is not None and strike.user_id == user.pk and strike.may_appeal,
        appeal_open=_appeal_open(strike),
        taken_down=case is not None and case.state in (CaseState.TAKEN_DOWN, CaseState.APPEALED),
        under_review=case is not None and case.hidden and case.state not in (CaseState.TAKEN_DOWN, CaseState.APPEALED),
        charge_text=_charge_text(case),
        may_report=job.is_terminal and job.state == "succeeded",
        already_reported=case is not None
        and user is not None
        and case.signals.filter(source="member_report", reporter_id=user.pk).exists(),
    )
    return data


@register.inclusion_tag("moderation/_asset_panel.html", takes_context=True)
def moderation_asset_panel(context: Any, asset: Any) -> dict[str, Any]:
    from studio.moderation.models import Case

    request = context.get("request")
    user = getattr(request, "user", None)
    case = Case.objects.filter(asset_id=asset.pk).first()
    strike = Strike.objects.filter(case=case).first() if case is not None else None
    return {
        "asset": asset,
        "case": case,
        "strike": strike,
        "appeal": getattr(strike, "appeal", None) if strike is not None else None,
        "may_appeal": strike is not None and user is not None and strike.user_id == user.pk and strike.may_appeal,
        "appeal_open": _appeal_open(strike),
        "taken_down": case is not None and case.state in (CaseState.TAKEN_DOWN, CaseState.APPEALED),
        "already_reported": case is not None
        and user is not None
        and case.is_undecided
        and case.signals.filter(source="member_report", reporter_id=user.pk).exists(),
        "csrf_token": context.get("csrf_token"),
    }


def _appeal_open(strike: Any) -> bool:
    return strike is not None and timezone.now() <= strike.appeal_until


def _charge_text(case: Any) -> str:
    if case is None:
        return ""
    return {
        ChargeOutcome.RELEASED: "The provider refused this video, so nothing was charged: the held credits went back.",
        ChargeOutcome.CHARGED: "Charged: the video was delivered and approved.",
        ChargeOutcome.REFUNDED: "Refunded: the charge for this video was given back.",
        ChargeOutcome.KEPT: "Charge kept: the reviewer kept the charge for this video.",
    }.get(case.charge_outcome, "")


@register.inclusion_tag("moderation/_composer_notice.html", takes_context=True)
def moderation_composer_notice(context: Any, project: Any) -> dict[str, Any]:
    from studio.moderation.services import generation_restriction

    request = context.get("request")
    user = getattr(request, "user", None)
    restriction = None
    if user is not None and user.is_authenticated:
        restriction = generation_restriction(user=user, team=project.team_id)
    return {"restriction": restriction}
