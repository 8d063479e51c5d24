from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ReferenceType(models.TextChoices):
    SUBJECT = "subject", "Subject"
    BACKGROUND = "background", "Background"


def _asset_path(instance: Asset, filename: str) -> str:
    # Server-generated names only: the uploader's filename never reaches storage.
    return f"assets/{instance.team_id}/{uuid.uuid4().hex}.{instance.format.lower()}"


def _thumb_path(instance: Asset, filename: str) -> str:
    return f"assets/{instance.team_id}/thumbs/{uuid.uuid4().hex}.webp"


class AssetTag(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="asset_tags")
    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="assets_tag_unique_per_team")]

    def __str__(self) -> str:
        return self.name


class Asset(models.Model):
    """A team-wide reference image. Stored re-encoded (EXIF/GPS stripped) under a server-generated name.

    ``ref_name`` is the default ``@ref_name`` for reference-to-video; ``sha256`` is of the stored bytes' source, so a
    second upload of the same file in the team reuses this asset.
    """

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="assets")
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="assets"
    )
    name = models.CharField(max_length=120)
    ref_name = models.CharField(max_length=30)
    default_type = models.CharField(max_length=10, choices=ReferenceType.choices, default=ReferenceType.SUBJECT)
    tags = models.ManyToManyField(AssetTag, blank=True, related_name="assets")
    file = models.FileField(upload_to=_asset_path, max_length=255)
    thumbnail = models.FileField(upload_to=_thumb_path, max_length=255, blank=True)
    format = models.CharField(max_length=10, help_text="JPEG, PNG or WEBP, as sniffed from the bytes.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # Retired: hidden from the composer's pickers; videos that used it keep playing and keep their lineage.
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "ref_name"], name="assets_ref_name_unique_per_team"),
            models.UniqueConstraint(fields=["team", "sha256"], name="assets_sha256_unique_per_team"),
        ]
        indexes = [
            # The asset library reads a team's newest assets (studio/assets/selectors.py:asset_list): in index order,
            # stopping after a page, instead of sorting every asset of the team (2.5 ms for 10,000).
            models.Index(fields=["team", "-created_at", "-id"], name="assets_team_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (@{self.ref_name})"

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def content_type(self) -> str:
        return {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[self.format]
