from django.contrib import admin

from studio.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ("user", "kind", "message", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__email", "kind", "message", "key")
    raw_id_fields = ("user",)
