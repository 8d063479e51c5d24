"""Admin: outgoing webhooks, read-mostly (endpoints are managed by team admins on the team's webhooks page)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from studio.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage


class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_ReadOnly):
    list_display = ("url", "team", "is_enabled", "failing_since", "created_at")
    list_filter = ("is_enabled",)
    search_fields = ("url", "team__name")
    exclude = ("secret", "previous_secret")  # never shown to staff here


@admin.register(WebhookMessage)
class WebhookMessageAdmin(_ReadOnly):
    list_display = ("id", "event_type", "team", "created_at")
    list_filter = ("event_type",)


class WebhookAttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("at", "status_code", "response_body", "error", "duration_ms")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly):
    list_display = ("message", "endpoint", "state", "attempts", "last_status_code", "next_attempt_at")
    list_filter = ("state",)
    inlines = [WebhookAttemptInline]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(_ReadOnly):
    list_display = ("delivery", "at", "status_code", "error")
