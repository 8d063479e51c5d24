"""Admin lists of cases, appeals, strikes, restrictions, terms and the policy. Cases and appeals are read-only
(no raw add/change/delete): decisions are admin *actions* that call the same services as the review queue."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from studio.adminkit import ReadOnlyAdmin, ReadOnlyInline
from studio.moderation.models import (
    Appeal,
    Case,
    CaseHistory,
    Policy,
    Restriction,
    ScreenTerm,
    Signal,
    Strike,
)
from studio.moderation.services import Decision, ModerationRefused, appeal_decide, case_decide

ADMIN_REASON = "Decided in the admin: it breaks the content policy."


class SignalInline(ReadOnlyInline):
    model = Signal
    fields = ("created_at", "source", "weight", "reporter", "detail")
    readonly_fields = fields


class HistoryInline(ReadOnlyInline):
    model = CaseHistory
    fields = ("at", "action", "actor", "from_state", "to_state", "version", "reason")
    readonly_fields = fields


def _decide_each(modeladmin: Any, request: HttpRequest, cases: QuerySet[Case], decision: str, reason: str) -> None:
    done = 0
    for case in cases:
        try:
            case_decide(
                case=case,
                version=case.version,
                reviewer=request.user,  # type: ignore[arg-type]
                decision=decision,
                reason=reason,
                request=request,
            )
            done += 1
        except ModerationRefused as exc:
            modeladmin.message_user(request, f"Case {case.pk}: {exc}", level=messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} case(s) decided.", level=messages.SUCCESS)


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "state", "score", "team", "creator", "provider", "hidden", "charge_outcome", "created_at")
    list_filter = ("state", "provider", "hidden", "signals__source")
    search_fields = ("team__name", "creator__email", "job__prompt")
    inlines = (SignalInline, HistoryInline)
    actions = ("approve", "take_down", "dismiss")

    @admin.action(description="Approve selected cases")
    def approve(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        _decide_each(self, request, queryset, Decision.APPROVE, "")

    @admin.action(description="Take down selected cases (charge per policy)")
    def take_down(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        _decide_each(self, request, queryset, Decision.TAKE_DOWN, ADMIN_REASON)

    @admin.action(description="Dismiss the reports on selected cases")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        _decide_each(self, request, queryset, Decision.DISMISS, "")


def _appeal_each(modeladmin: Any, request: HttpRequest, appeals: QuerySet[Appeal], overturn: bool) -> None:
    for appeal in appeals.select_related("strike__case"):
        case = appeal.strike.case
        try:
            appeal_decide(
                case=case,
                version=case.version,
                reviewer=request.user,  # type: ignore[arg-type]
                overturn=overturn,
                reason="Decided in the admin.",
                request=request,
            )
        except ModerationRefused as exc:
            modeladmin.message_user(request, f"Appeal {appeal.pk}: {exc}", level=messages.ERROR)


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ("id", "strike", "user", "state", "decided_by", "created_at")
    list_filter = ("state",)
    actions = ("overturn", "uphold")

    @admin.action(description="Overturn selected appeals (restore and refund)")
    def overturn(self, request: HttpRequest, queryset: QuerySet[Appeal]) -> None:
        _appeal_each(self, request, queryset, True)

    @admin.action(description="Uphold the takedowns of selected appeals")
    def uphold(self, request: HttpRequest, queryset: QuerySet[Appeal]) -> None:
        _appeal_each(self, request, queryset, False)


@admin.register(Strike)
class StrikeAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "team", "reason", "appeal_until", "overturned_at", "created_at")


@admin.register(Restriction)
class RestrictionAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "team", "reason", "created_by", "created_at", "lifted_at")


@admin.register(ScreenTerm)
class ScreenTermAdmin(ReadOnlyAdmin):
    """Listed here; edited on the pre-screen page so each change is audited as a policy change."""

    list_display = ("term", "action", "reason", "created_at")
    list_filter = ("action",)


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    """Shown for reference; staff change it on the policy page so the change is audited."""

    list_display = ("__str__", "hide_until_reviewed", "refund_provider_flagged", "appeal_window_days", "updated_at")
