"""Admin: read-mostly views of jobs, their events and attempts. State is never edited here (only services change it)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from generations.models import (
    Favourite,
    GenerationEvent,
    GenerationJob,
    IdempotencyKey,
    JobReference,
    ProviderAccount,
    ProviderAttempt,
    ProviderPrice,
    ProviderPriceTable,
    ZipExport,
)


class JobReferenceInline(admin.TabularInline[JobReference, GenerationJob]):
    model = JobReference
    extra = 0
    readonly_fields = ("asset", "ref_name", "type", "order")
    can_delete = False


class GenerationEventInline(admin.TabularInline[GenerationEvent, GenerationJob]):
    model = GenerationEvent
    extra = 0
    readonly_fields = ("at", "from_state", "to_state", "note", "data", "actor")
    can_delete = False


class ProviderAttemptInline(admin.TabularInline[ProviderAttempt, GenerationJob]):
    model = ProviderAttempt
    extra = 0
    readonly_fields = ("at", "provider", "method", "path", "status_code", "latency_ms", "error_class", "is_create")
    can_delete = False


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin[GenerationJob]):
    list_display = (
        "id",
        "state",
        "mode",
        "provider",
        "team",
        "creator",
        "quoted_credits",
        "charged_credits",
        "created_at",
    )
    list_filter = ("state", "mode", "provider")
    search_fields = ("id", "provider_job_id", "prompt", "creator__email")
    inlines = (JobReferenceInline, GenerationEventInline, ProviderAttemptInline)

    def get_readonly_fields(self, request: object, obj: GenerationJob | None = None) -> list[str]:
        return [field.name for field in GenerationJob._meta.fields]

    # Jobs are made by the composer/API (a hold with each) and ended by the pipeline: no raw add or delete here.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: GenerationJob | None = None) -> bool:
        return False


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin[ProviderAccount]):
    list_display = ("name", "consecutive_failures", "open_until", "updated_at")


class ProviderPriceInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ProviderPrice
    extra = 0


@admin.register(ProviderPriceTable)
class ProviderPriceTableAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Staff edit the providers' USD price lists here. A price change is a NEW version with its own effective date
    (so past days keep the prices they were billed at)."""

    list_display = ["provider", "version", "effective_from", "usd_per_credit", "source"]
    list_filter = ["provider"]
    inlines = [ProviderPriceInline]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin[IdempotencyKey]):
    """API idempotency records: read-only (a record exists exactly when its job does)."""

    list_display = ("key", "user", "team", "job", "status_code", "created_at")
    search_fields = ("key", "user__email")
    readonly_fields = ("user", "team", "key", "request_hash", "job", "status_code", "response", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: IdempotencyKey | None = None) -> bool:
        return False


@admin.register(Favourite)
class FavouriteAdmin(admin.ModelAdmin[Favourite]):
    list_display = ("user", "job", "created_at")
    raw_id_fields = ("user", "job")


@admin.register(ZipExport)
class ZipExportAdmin(admin.ModelAdmin[ZipExport]):
    list_display = ("name", "team", "user", "state", "done", "total", "created_at")
    list_filter = ("state",)
    raw_id_fields = ("team", "user")
