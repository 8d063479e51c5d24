"""Django admin for billing. The ledger, holds, purchases and Stripe events are read-only here (the ledger module is
their only writer; staff change balances through grants/adjustments with a reason, on the staff page or with
``manage.py grant_credits``). Rate cards are edited by publishing a new version: saving a card, new or existing,
creates version N+1 and makes it active, and leaves the old version exactly as it was."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model
from django.http import HttpRequest

from billing.metering import DEFAULT_RATES
from billing.models import (
    ChargeReversal,
    CreditPack,
    Hold,
    HoldResolution,
    LedgerEntry,
    LedgerTransaction,
    MemberCap,
    MonthlySpend,
    Purchase,
    RateCard,
    RateCardCell,
    StripeEvent,
    TeamBilling,
    Wallet,
)
from billing.rate_cards import rate_card_publish
from studio.accounts.models import User
from studio.adminkit import ReadOnlyAdmin, ReadOnlyInline


def _rate_field_name(resolution: str, audio: bool) -> str:
    return f"rate_{resolution}_{'audio' if audio else 'silent'}"


def _rate_card_form() -> type[forms.ModelForm[RateCard]]:
    attrs: dict[str, Any] = {}
    for (resolution, audio), default in DEFAULT_RATES.items():
        attrs[_rate_field_name(resolution, audio)] = forms.IntegerField(
            min_value=1, initial=default, label=f"{resolution} {'with' if audio else 'without'} audio (credits/s)"
        )

    class Meta:
        model = RateCard
        fields = ["note"]

    attrs["Meta"] = Meta

    def __init__(self: forms.ModelForm[RateCard], *args: Any, **kwargs: Any) -> None:
        forms.ModelForm.__init__(self, *args, **kwargs)
        source = self.instance if self.instance.pk else RateCard.objects.filter(is_active=True).first()
        if source is not None:
            for cell in source.cells.all():
                self.initial[_rate_field_name(cell.resolution, cell.audio)] = cell.credits_per_second

    attrs["__init__"] = __init__
    return type("RateCardForm", (forms.ModelForm,), attrs)


RateCardForm = _rate_card_form()


class RateCardCellInline(ReadOnlyInline):
    model = RateCardCell
    fields = ["resolution", "audio", "credits_per_second", "provider_costs"]
    readonly_fields = ["resolution", "audio", "credits_per_second", "provider_costs"]


@admin.register(RateCard)
class RateCardAdmin(admin.ModelAdmin[RateCard]):
    form = RateCardForm
    list_display = ["version", "is_active", "note", "created_at", "created_by"]
    readonly_fields = ["version", "is_active", "created_at", "created_by"]
    inlines = [RateCardCellInline]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # jobs and holds reference versions by number

    def save_model(self, request: HttpRequest, obj: RateCard, form: forms.ModelForm[RateCard], change: bool) -> None:
        rates = {key: int(form.cleaned_data[_rate_field_name(*key)]) for key in DEFAULT_RATES}
        user = request.user if isinstance(request.user, User) else None
        if change:
            old_version = obj.version
            new = rate_card_publish(rates=rates, note=form.cleaned_data["note"], created_by=user)
            obj.refresh_from_db()  # the old version stays exactly as it was
            messages.info(request, f"Published rate card v{new.version}; v{old_version} is kept unchanged.")
        else:
            rate_card_publish(rates=rates, note=form.cleaned_data["note"], created_by=user, card=obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Cells are written by rate_card_publish; the read-only inline saves nothing (but the change message
        reads what it would have saved)."""
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin[Wallet]):
    list_display = ["pk", "label", "balance", "debt", "frozen", "created_at"]
    list_filter = ["frozen"]
    search_fields = ["user__email", "team__name", "team__slug"]
    readonly_fields = ["balance", "debt", "frozen", "frozen_reason", "created_at"]
    raw_id_fields = ["user", "team"]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ["account", "wallet", "amount"]
    readonly_fields = ["account", "wallet", "amount"]


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "wallet", "description", "idempotency_key", "created_by", "created_at"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "description", "reason", "wallet__user__email", "wallet__team__name"]
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "transaction", "account", "wallet", "amount", "created_at"]
    list_filter = ["account"]
    search_fields = ["wallet__user__email", "wallet__team__name", "transaction__idempotency_key"]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["key", "wallet", "user", "team", "amount", "state", "captured_amount", "resolution", "created_at"]
    list_filter = ["state", "resolution", "audio", "provider"]
    search_fields = ["key", "reference", "user__email", "team__name"]


@admin.register(MonthlySpend)
class MonthlySpendAdmin(ReadOnlyAdmin):
    """The spend counters the ledger moves with each hold (``reconcile_ledger`` checks them): read-only here."""

    list_display = ["wallet", "user", "month", "spent"]
    list_filter = ["month"]
    search_fields = ["wallet__team__name", "user__email"]


@admin.register(HoldResolution)
class HoldResolutionAdmin(ReadOnlyAdmin):
    list_display = ["hold", "state", "captured_amount", "reason", "created_at"]
    list_filter = ["state"]
    search_fields = ["hold__key"]


@admin.register(TeamBilling)
class TeamBillingAdmin(admin.ModelAdmin[TeamBilling]):
    list_display = ["team", "use_pool", "monthly_budget", "updated_at"]
    list_filter = ["use_pool"]
    search_fields = ["team__name", "team__slug"]
    raw_id_fields = ["team"]


@admin.register(MemberCap)
class MemberCapAdmin(admin.ModelAdmin[MemberCap]):
    list_display = ["membership", "monthly_cap"]
    search_fields = ["membership__user__email", "membership__team__name"]
    raw_id_fields = ["membership"]


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin[CreditPack]):
    list_display = ["name", "credits", "price_cents", "currency", "active", "sort_order"]
    list_editable = ["active", "sort_order"]


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ["session_id", "wallet", "credits", "amount_cents", "currency", "status", "reversed_credits"]
    list_filter = ["status"]
    search_fields = ["session_id", "payment_intent", "wallet__user__email", "wallet__team__name"]


@admin.register(ChargeReversal)
class ChargeReversalAdmin(ReadOnlyAdmin):
    list_display = ["payment_intent", "charge_id", "amount_refunded_cents", "dispute_id", "updated_at"]
    search_fields = ["payment_intent", "charge_id", "dispute_id"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["pk", "event_type", "event_id", "signature_valid", "status", "received_at"]
    list_filter = ["status", "signature_valid", "event_type"]
    search_fields = ["event_id", "body", "error"]
