from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from studio.accounts.models import ApiToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    ordering = ("email",)
    list_display = ("email", "name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "active_team")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    raw_id_fields = ("active_team",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("user", "name", "hint", "created_at", "last_used_at", "revoked_at")
    search_fields = ("user__email", "name", "hint")
    readonly_fields = ("token_hash", "hint", "created_at", "last_used_at")
    raw_id_fields = ("user",)
