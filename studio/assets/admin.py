from django.contrib import admin

from studio.assets.models import Asset, AssetTag


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin[Asset]):
    list_display = ("name", "ref_name", "team", "format", "width", "height", "size_bytes", "created_at")
    list_filter = ("format", "default_type")
    search_fields = ("name", "ref_name", "sha256", "team__name")
    raw_id_fields = ("team", "project", "uploaded_by")
    readonly_fields = ("file", "thumbnail", "format", "width", "height", "size_bytes", "sha256")
    filter_horizontal = ("tags",)


@admin.register(AssetTag)
class AssetTagAdmin(admin.ModelAdmin[AssetTag]):
    list_display = ("name", "team")
    search_fields = ("name", "team__name")
    raw_id_fields = ("team",)
