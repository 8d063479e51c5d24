from django.contrib import admin

from studio.projects.models import Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin[Project]):
    list_display = ("name", "team", "created_by", "created_at", "updated_at", "archived_at")
    list_filter = ("archived_at",)
    search_fields = ("name", "description", "team__name")
    raw_id_fields = ("team", "created_by")
