from django.contrib import admin
from django.http import HttpRequest

from studio.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only: rows are written by ``audit_record`` and the database refuses changes."""

    list_display = ("created_at", "action", "actor_label", "team_label", "target_label", "ip")
    list_filter = ("action",)
    search_fields = ("actor_label", "team_label", "target_label", "reason")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
