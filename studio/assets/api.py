"""API: the token team's reference assets. Uploads go through ``studio.assets.services.asset_upload`` — the same
validation, re-encoding and duplicate detection as the upload page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.params import functions as param_functions

from studio.apikit import (
    MAX_ID,
    ApiError,
    In,
    ObjectId,
    decode_cursor,
    encode_cursor,
    errors,
    rate_limit,
    team_of,
    token_of,
    user_of,
)
from studio.assets import services
from studio.assets.models import Asset
from studio.assets.services import AssetError, UploadStatus
from studio.files import signed_url
from studio.moderation.services import taken_down_asset_ids
from studio.moderation.visibility import hidden_asset_q
from studio.projects.models import Project
from studio.teams import access
from studio.teams.access import Perm

router = Router()

RefType = Literal["subject", "background"]
# Optional so that a file the upload handler skipped for its size can be answered with 413, not "field required".
OptionalFile = Annotated[UploadedFile | None, param_functions.File(None)]


class AssetOut(Schema):
    id: int
    name: str
    ref_name: str
    type: str
    tags: list[str]
    project_id: int | None
    format: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    retired: bool
    taken_down: bool = Field(
        False,
        description="Taken down by moderation: new videos refuse it, and `url` is empty while the decision stands "
        "(the uploader may appeal on the asset's page). Lists leave such assets out.",
    )
    created_at: datetime
    url: str = Field(description="A signed URL of the image that expires (SIGNED_FILE_URL_MAX_AGE).")

    @staticmethod
    def of(asset: Asset, *, taken_down: bool = False) -> AssetOut:
        return AssetOut(
            id=asset.pk,
            name=asset.name,
            ref_name=asset.ref_name,
            type=asset.default_type,
            tags=[tag.name for tag in asset.tags.all()],
            project_id=asset.project_id,
            format=asset.format,
            width=asset.width,
            height=asset.height,
            size_bytes=asset.size_bytes,
            sha256=asset.sha256,
            retired=asset.retired_at is not None,
            taken_down=taken_down,
            created_at=asset.created_at,
            url="" if taken_down else signed_url(asset.file.name or "", absolute=True),
        )


def _one(asset: Asset) -> AssetOut:
    """One asset, with its moderation state (lists leave taken-down assets out, so they need no such query)."""
    return AssetOut.of(asset, taken_down=asset.pk in taken_down_asset_ids([asset.pk]))


class UploadOut(Schema):
    status: Literal["accepted", "reused"]
    message: str
    asset: AssetOut


class AssetPage(Schema):
    items: list[AssetOut]
    next_cursor: str | None


class AssetFilters(Schema):
    tag: str = Field("", max_length=40)
    q: str = Field("", max_length=100, description="Search in name, ref_name and tags.")
    include_retired: bool = False
    cursor: str = Field("", max_length=200)
    limit: int = Field(50, ge=1, le=200)


class UploadFields(In):
    name: str = Field("", max_length=120)
    ref_name: str = Field("", max_length=60)
    type: RefType = "subject"
    tags: str = Field("", max_length=1000, description="Comma-separated.")
    project_id: int | None = Field(None, ge=1, le=MAX_ID)


class AssetPatch(In):
    ref_name: str | None = Field(None, max_length=60)
    type: RefType | None = None
    tags: list[str] | None = Field(None, max_length=100)
    name: str | None = Field(None, max_length=120)


def _project(request: HttpRequest, project_id: int | None) -> Project | None:
    if project_id is None:
        return None
    return access.token_get(token_of(request), Project.objects.all(), pk=project_id)


@router.post(
    "",
    response={201: UploadOut, 200: UploadOut, **errors(403, 404, 413, 422, 429)},
    summary="Upload an image (multipart)",
)
def asset_upload(request: HttpRequest, fields: Form[UploadFields], file: OptionalFile = None) -> Status[UploadOut]:
    """Multipart field ``file`` (JPEG, PNG or WEBP under ASSET_MAX_BYTES), optional ``name``, ``ref_name``, ``type``,
    ``tags`` and ``project_id``. 201 for a new asset, 200 when the same image was already in the team (reused)."""
    team = team_of(request, Perm.UPLOAD)
    rate_limit(request, "upload")
    if getattr(request, "upload_rejections", None) or (
        file is not None and (file.size or 0) > settings.ASSET_MAX_BYTES
    ):
        limit = settings.ASSET_MAX_BYTES / (1024 * 1024)
        raise ApiError(413, "too_large", f"The file is too large; images must be under {limit:g} MB.", field="file")
    if file is None:
        raise ApiError(422, "validation_error", "Attach the image as the multipart field 'file'.", field="file")
    try:
        tags = services.parse_tags(fields.tags)
    except AssetError as exc:
        raise ApiError(422, "validation_error", str(exc), field="tags") from exc
    outcome = services.asset_upload(
        team=team,
        user=user_of(request),
        uploaded_file=file,
        filename=file.name,
        name=fields.name,
        ref_name=fields.ref_name,
        default_type=fields.type,
        project=_project(request, fields.project_id),
        tags=tags,
    )
    if outcome.status == UploadStatus.REJECTED or outcome.asset is None:
        raise ApiError(422, "invalid_image", outcome.message, field="file")
    status = 201 if outcome.status == UploadStatus.ACCEPTED else 200
    return Status(
        status,
        UploadOut(
            status="accepted" if status == 201 else "reused",
            message=outcome.message,
            asset=AssetOut.of(outcome.asset),
        ),
    )


@router.get("", response={200: AssetPage, **errors(422)}, summary="List assets (tag, search, cursor)")
def asset_list(request: HttpRequest, filters: Query[AssetFilters]) -> AssetPage:
    assets = access.token_visible(token_of(request), Asset.objects.exclude(hidden_asset_q())).prefetch_related("tags")
    if not filters.include_retired:
        assets = assets.filter(retired_at__isnull=True)
    query = filters.q.strip()
    if query:
        assets = assets.filter(
            Q(name__icontains=query) | Q(ref_name__icontains=query) | Q(tags__name__icontains=query)
        ).distinct()
    if filters.tag.strip():
        assets = assets.filter(tags__name=filters.tag.strip().lower())
    if filters.cursor:
        created, pk = decode_cursor(filters.cursor)
        if not pk.isdigit() or int(pk) > MAX_ID:
            raise ApiError(422, "invalid_cursor", "The cursor is not one this API returned.", field="cursor")
        assets = assets.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=int(pk)))
    page = list(assets.order_by("-created_at", "-pk")[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return AssetPage(
        items=[AssetOut.of(a) for a in page],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].pk) if more and page else None,
    )


@router.get("/{asset_id}", response={200: AssetOut, **errors(404)}, summary="Get an asset")
def asset_get(request: HttpRequest, asset_id: ObjectId) -> AssetOut:
    return _one(access.token_get(token_of(request), Asset.objects.all(), pk=asset_id))


@router.patch("/{asset_id}", response={200: AssetOut, **errors(403, 404, 422)}, summary="Update ref_name, type, tags")
def asset_patch(request: HttpRequest, body: AssetPatch, asset_id: ObjectId) -> AssetOut:
    asset = access.token_get(token_of(request), Asset.objects.select_related("team"), perm=Perm.EDIT, pk=asset_id)
    try:
        tags = services.parse_tags(body.tags) if body.tags is not None else [t.name for t in asset.tags.all()]
        asset = services.asset_update(
            asset=asset,
            name=body.name if body.name is not None else asset.name,
            ref_name=body.ref_name if body.ref_name is not None else asset.ref_name,
            default_type=body.type or asset.default_type,
            project=asset.project,
            tags=tags,
        )
    except AssetError as exc:
        message = str(exc)
        field = "ref_name" if "reference name" in message.lower() else "tags" if "tag" in message.lower() else None
        raise ApiError(422, "validation_error", message, field=field) from exc
    return _one(asset)


@router.post("/{asset_id}/retire", response={200: AssetOut, **errors(403, 404)}, summary="Retire an asset")
def asset_retire(request: HttpRequest, asset_id: ObjectId) -> AssetOut:
    """A retired asset is kept for the videos made from it, but new generations refuse it. Idempotent."""
    asset = access.token_get(token_of(request), Asset.objects.all(), perm=Perm.EDIT, pk=asset_id)
    return _one(services.asset_retire(asset=asset))
