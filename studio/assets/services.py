"""Reference-asset services, shared by the upload page and the REST API.

Invariants:
- Every stored file passed ``studio.assets.validation.inspect_image``: JPEG/PNG/WEBP by content, within the size and
  pixel limits, re-encoded without EXIF/GPS, under a server-generated name (``Asset.file``'s ``upload_to``).
- Within a team, one asset per uploaded-bytes SHA-256: a second upload of the same file returns the existing asset
  (``UploadStatus.REUSED``), also when two uploads race (the unique constraint decides, the loser reuses).
- ``ref_name`` is unique per team and obeys ``generations.validation.validate_ref_name`` (the rule the composer uses).
- Tags belong to the asset's team; a pinned project belongs to the asset's team.
- Stored files are deleted only after the deleting transaction commits.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from generations.validation import RefNameError, validate_ref_name
from studio.assets.budget import BudgetExceeded, PixelBudget, decode_slot
from studio.assets.models import Asset, AssetTag, ReferenceType
from studio.assets.validation import ImageRejected, decode_image, peek_image, size_limit_message

if TYPE_CHECKING:
    from studio.accounts.models import User
    from studio.projects.models import Project
    from studio.teams.models import Team

REF_NAME_MAX_BYTES = 30
TAG_MAX_CHARS = 40
MAX_TAGS = 20
_NOT_REF_CHARS = re.compile(r"[^A-Za-z0-9_]+")


class AssetError(ValueError):
    """An asset rule refused the change; the message is user-facing and nothing was changed."""


class UploadStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    REUSED = "reused"
    REJECTED = "rejected"


@dataclass(frozen=True)
class UploadOutcome:
    """What happened to one uploaded file."""

    filename: str
    status: UploadStatus
    asset: Asset | None = None
    message: str = ""
    http_status: int = 0  # 413/429 when a pixel budget or the decoder's bound refused the file


def display_filename(raw: str | None) -> str:
    """The uploader's filename, for messages and the default asset name only (never for storage)."""
    name = os.path.basename((raw or "").replace("\\", "/")).strip()
    return name[:120] or "file"


def parse_tags(text: str | Iterable[str]) -> list[str]:
    """Tags from "a, b, c" (or a list): trimmed, lower-cased, de-duplicated, in order. Raises ``AssetError``."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    tags: list[str] = []
    for part in parts:
        tag = " ".join(part.split()).lower()
        if not tag or tag in tags:
            continue
        if len(tag) > TAG_MAX_CHARS:
            raise AssetError(f'The tag "{tag[:20]}…" is too long; tags are at most {TAG_MAX_CHARS} characters.')
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise AssetError(f"An asset can have at most {MAX_TAGS} tags.")
    return tags


def _tag_objects(team: Team, tags: Sequence[str]) -> list[AssetTag]:
    return [AssetTag.objects.get_or_create(team=team, name=tag)[0] for tag in tags]


def check_ref_name(*, team: Team, ref_name: str, exclude_asset_id: int | None = None) -> None:
    """Raise ``AssetError`` unless ``ref_name`` is well-formed and free in ``team``."""
    try:
        validate_ref_name(ref_name)
    except RefNameError as exc:
        raise AssetError(str(exc)) from None
    taken_qs = Asset.objects.filter(team=team, ref_name=ref_name)
    if exclude_asset_id is not None:
        taken_qs = taken_qs.exclude(pk=exclude_asset_id)
    taken = taken_qs.first()
    if taken is not None:
        raise AssetError(f'The reference name "{ref_name}" is already used by the asset "{taken.name}" in this team.')


def derive_ref_name(*, team: Team, source: str) -> str:
    """A free, valid ``ref_name`` derived from ``source`` (usually the filename): ``Red car.png`` → ``Red_car``."""
    base = _NOT_REF_CHARS.sub("_", source).strip("_")[:REF_NAME_MAX_BYTES] or "ref"
    taken = set(Asset.objects.filter(team=team, ref_name__startswith=base[:20]).values_list("ref_name", flat=True))
    if base not in taken:
        return base
    for n in range(2, 10_000):
        suffix = f"_{n}"
        candidate = base[: REF_NAME_MAX_BYTES - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    raise AssetError("Could not find a free reference name; enter one yourself.")  # pragma: no cover


def _check_project(team: Team, project: Project | None) -> None:
    if project is not None and project.team_id != team.pk:
        raise AssetError("The project belongs to another team.")


def asset_upload_rejected(*, filename: str, message: str = "") -> UploadOutcome:
    """The outcome for a file refused before it reached us whole (the upload handler skipped it for its size)."""
    name = display_filename(filename)
    return UploadOutcome(filename=name, status=UploadStatus.REJECTED, message=message or size_limit_message(name))


@transaction.atomic
def asset_upload(
    *,
    team: Team,
    user: User,
    uploaded_file: IO[bytes],
    filename: str | None = None,
    name: str = "",
    ref_name: str = "",
    default_type: str = ReferenceType.SUBJECT,
    project: Project | None = None,
    tags: Sequence[str] = (),
    budget: PixelBudget | None = None,
) -> UploadOutcome:
    """Validate, clean and store one uploaded image as a team asset (see the module invariants).

    Never raises for a bad file: the outcome says accepted / reused / rejected, with a message naming the rule.
    ``name`` and ``ref_name`` default to ones derived from the filename (a free ``ref_name`` is chosen)."""
    shown = display_filename(filename or getattr(uploaded_file, "name", None))
    try:
        _check_project(team, project)
        if default_type not in ReferenceType.values:
            raise AssetError("The default type must be subject or background.")
        # Cheap checks first (hash, format, the header's dimensions), then the duplicate check, then the budget:
        # only a new image within budget is decoded, and only inside a decode slot (issue 13 finding 1).
        header = peek_image(uploaded_file, filename=shown, size=getattr(uploaded_file, "size", None))
        existing = Asset.objects.filter(team=team, sha256=header.sha256).first()
        if existing is not None:
            return _reused(shown, existing)
        if budget is not None:
            budget.claim(pixels=header.pixels, filename=shown)
        with decode_slot(filename=shown):
            clean = decode_image(uploaded_file, filename=shown, header=header)
    except (ImageRejected, AssetError) as exc:
        return UploadOutcome(filename=shown, status=UploadStatus.REJECTED, message=str(exc))
    except BudgetExceeded as exc:
        return UploadOutcome(
            filename=shown, status=UploadStatus.REJECTED, message=str(exc), http_status=exc.http_status
        )

    stem = os.path.splitext(shown)[0]
    try:
        if ref_name:
            check_ref_name(team=team, ref_name=ref_name)
        chosen_ref = ref_name or derive_ref_name(team=team, source=stem)
    except AssetError as exc:
        return UploadOutcome(filename=shown, status=UploadStatus.REJECTED, message=f"{shown}: {exc}")

    asset = Asset(
        team=team,
        project=project,
        name=(name.strip() or stem or "Untitled")[:120],
        ref_name=chosen_ref,
        default_type=default_type,
        format=clean.format,
        width=clean.width,
        height=clean.height,
        size_bytes=len(clean.content),
        sha256=clean.sha256,
        uploaded_by=user,
    )
    asset.file.save("upload", ContentFile(clean.content), save=False)
    asset.thumbnail.save("thumb", ContentFile(clean.thumbnail), save=False)
    try:
        with transaction.atomic():
            asset.save()
            asset.tags.set(_tag_objects(team, tags))
    except IntegrityError:
        _delete_files([asset.file.name or "", asset.thumbnail.name or ""])
        existing = Asset.objects.filter(team=team, sha256=clean.sha256).first()
        if existing is not None:  # a concurrent upload of the same file won
            return _reused(shown, existing)
        return UploadOutcome(
            filename=shown,
            status=UploadStatus.REJECTED,
            message=f'{shown}: the reference name "{chosen_ref}" was just taken; upload again.',
        )
    return UploadOutcome(filename=shown, status=UploadStatus.ACCEPTED, asset=asset)


def _reused(shown: str, existing: Asset) -> UploadOutcome:
    from studio.moderation.services import asset_taken_down

    if asset_taken_down(existing):  # the same bytes again do not bring a taken-down image back
        return UploadOutcome(
            filename=shown,
            status=UploadStatus.REJECTED,
            message=f"{shown}: this image was taken down by moderation and cannot be uploaded again.",
        )
    return UploadOutcome(
        filename=shown,
        status=UploadStatus.REUSED,
        asset=existing,
        message=f'{shown}: identical to the existing asset "{existing.name}" (@{existing.ref_name}), which was reused.',
    )


@transaction.atomic
def asset_update(
    *,
    asset: Asset,
    name: str,
    ref_name: str,
    default_type: str,
    project: Project | None,
    tags: Sequence[str],
) -> Asset:
    """Edit an asset's metadata (the image itself never changes). Raises ``AssetError``."""
    name = name.strip()
    if not name:
        raise AssetError("An asset needs a name.")
    if default_type not in ReferenceType.values:
        raise AssetError("The default type must be subject or background.")
    _check_project(asset.team, project)
    check_ref_name(team=asset.team, ref_name=ref_name, exclude_asset_id=asset.pk)
    asset.name = name[:120]
    asset.ref_name = ref_name
    asset.default_type = default_type
    asset.project = project
    asset.save(update_fields=["name", "ref_name", "default_type", "project"])
    asset.tags.set(_tag_objects(asset.team, parse_tags(tags)))
    return asset


def _delete_files(names: Iterable[str]) -> None:
    for file_name in names:
        if file_name:
            default_storage.delete(file_name)


def asset_files_delete_on_commit(*, assets: Iterable[Asset]) -> None:
    """Delete the stored files of ``assets`` once the current transaction commits (never before)."""
    names = [n for asset in assets for n in (asset.file.name, asset.thumbnail.name) if n]
    if names:
        transaction.on_commit(lambda: _delete_files(names))


@transaction.atomic
@transaction.atomic
def asset_delete(*, asset: Asset) -> None:
    """Delete the asset and, after commit, its files. Unused tags are kept for reuse.

    Videos that used it keep their reference rows (``ref_name``, type) with a snapshot of the asset's name, so the
    record of what each video used survives; a re-run or remix of them says the asset is gone."""
    from generations.models import JobReference
    from studio.moderation.models import UNDECIDED, Case, CaseState

    # A case under review or a takedown keeps its record (and the uploader's strike and appeal): they would go with
    # the asset. The asset is already out of the team's library once taken down.
    kept = (*UNDECIDED, CaseState.TAKEN_DOWN)
    if Case.objects.filter(asset_id=asset.pk, state__in=kept).exists():
        raise AssetError("This asset is under moderation review or was taken down; it cannot be deleted meanwhile.")
    JobReference.objects.filter(asset=asset).update(asset_label=f"{asset.name} (@{asset.ref_name})"[:160])
    asset_files_delete_on_commit(assets=[asset])
    asset.delete()


@transaction.atomic
def asset_retire(*, asset: Asset, retired: bool = True) -> Asset:
    """Retire (hide from the composer's pickers; history stays playable) or bring back an asset. Idempotent."""
    from django.utils import timezone

    if retired:
        Asset.objects.filter(pk=asset.pk, retired_at__isnull=True).update(retired_at=timezone.now())
    else:
        Asset.objects.filter(pk=asset.pk).update(retired_at=None)
    asset.refresh_from_db(fields=["retired_at"])
    return asset
