"""Library actions on finished videos: delete, move, favourite, and multi-select downloads (zip + manifest.csv).

Invariants:
- Deleting a video removes its files from storage (after the transaction commits) and hides the row everywhere
  (``selectors.visible_jobs``); the row, its events and its ledger history stay, and the action is audited.
- Only finished jobs are deleted or moved: a running job still holds credits and is canceled first.
- A zip holds exactly the selected, visible, ready videos and a ``manifest.csv`` of their prompts and settings; it is
  refused above ``LIBRARY_ZIP_MAX_BYTES``; larger selections are built by ``zip_export_build`` (a Celery task).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import tempfile
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

import zipstream
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from generations.models import Favourite, GenerationJob, ZipExport, ZipExportState
from generations.services import enqueue
from studio.audit.models import AuditAction
from studio.audit.services import audit_record
from studio.teams import access

if TYPE_CHECKING:
    from django.http import HttpRequest

    from studio.accounts.models import User
    from studio.projects.models import Project
    from studio.teams.models import Team

logger = logging.getLogger("generations.library")

_FILLER_WORDS = frozenset({"a", "an", "the", "of", "and", "in", "on", "at", "to", "with", "is", "its"})
CHUNK = 1024 * 1024


class LibraryError(Exception):
    """A library action was refused; the message is user-facing and nothing changed."""


def download_name(job: GenerationJob, *, extension: str = "mp4") -> str:
    """``<project>_<three words of the prompt>_<resolution>.mp4``, e.g. ``spring-campaign_kitty-looks-around_720p.mp4``.

    Filler words ("the", "a", …) are skipped; a video without a prompt is named by its mode.
    """
    project = slugify(job.project.name)[:40].strip("-") or "video"
    words = [word for word in slugify(job.prompt).split("-") if word and word not in _FILLER_WORDS]
    subject = "-".join(words[:3])[:40].strip("-") or slugify(job.get_mode_display())
    return f"{project}_{subject}_{job.resolution}.{extension}"


# --- Delete, move, favourite ----------------------------------------------------------------------------------------


def _finished(jobs: Sequence[GenerationJob], verb: str) -> None:
    running = [job for job in jobs if not job.is_terminal]
    if running:
        raise LibraryError(
            f"{len(running)} of the selected videos are still being made; cancel them (or wait) before you {verb} them."
        )


@transaction.atomic
def videos_delete(*, user: User, jobs: Sequence[GenerationJob], request: HttpRequest | None = None) -> int:
    """Delete finished videos: files removed from storage, rows hidden, ledger untouched, one audit row each."""
    for job in jobs:
        access.require_may_delete_job(user, job)
    _finished(jobs, "delete")
    now = timezone.now()
    deleted = 0
    for job in jobs:
        names = [name for name in (job.output.name, job.poster.name) if name]
        changed = GenerationJob.objects.filter(pk=job.pk, deleted_at__isnull=True).update(
            deleted_at=now, output="", poster="", updated_at=now
        )
        if not changed:
            continue
        deleted += 1
        audit_record(
            action=AuditAction.VIDEO_DELETED,
            actor=user,
            team=job.team,
            target=job,
            request=request,
            data={
                "project_id": job.project_id,
                "prompt": job.prompt[:200],
                "state": job.state,
                "files": names,
                "charged_credits": job.charged_credits,
            },
        )
        transaction.on_commit(lambda names=names: _delete_files(names))  # type: ignore[misc]
    return deleted


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # the row is already hidden; a leftover file is logged, not fatal
            logger.warning("could not delete %s from storage", name, exc_info=True)


@transaction.atomic
def videos_move(*, user: User, jobs: Sequence[GenerationJob], project: Project) -> int:
    """Move finished videos to another project of the same team (EDIT in that team)."""
    access.require_membership(user, project.team_id, access.Perm.EDIT)
    if project.is_archived:
        raise LibraryError(f"{project.name} is archived; restore it before moving videos into it.")
    if any(job.team_id != project.team_id for job in jobs):
        raise LibraryError("Videos can only move between projects of their own team.")
    _finished(jobs, "move")
    return GenerationJob.objects.filter(pk__in=[job.pk for job in jobs]).update(
        project=project, updated_at=timezone.now()
    )


@transaction.atomic
def videos_favourite(*, user: User, jobs: Sequence[GenerationJob], on: bool) -> int:
    """Mark (``on``) or unmark the videos as the user's favourites. Idempotent."""
    if not on:
        return Favourite.objects.filter(user=user, job__in=[job.pk for job in jobs]).delete()[0]
    existing = set(
        Favourite.objects.filter(user=user, job__in=[job.pk for job in jobs]).values_list("job_id", flat=True)
    )
    new = [Favourite(user=user, job=job) for job in jobs if job.pk not in existing]
    Favourite.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


# --- Zip downloads --------------------------------------------------------------------------------------------------

MANIFEST_FIELDS = (
    "file",
    "job_id",
    "project",
    "prompt",
    "negative_prompt",
    "mode",
    "resolution",
    "duration",
    "aspect_ratio",
    "audio",
    "seed",
    "provider",
    "references",
    "creator",
    "created_at",
    "charged_credits",
)


def zip_members(jobs: Sequence[GenerationJob]) -> list[tuple[GenerationJob, str, int]]:
    """(job, name in the zip, size) of the ready videos among ``jobs``; names made unique with the job's short id."""
    members: list[tuple[GenerationJob, str, int]] = []
    seen: set[str] = set()
    for job in jobs:
        if job.state != "succeeded" or not job.output.name:
            continue
        name = download_name(job)
        if name in seen:
            name = name.removesuffix(".mp4") + f"_{job.pk.hex[:6]}.mp4"
        seen.add(name)
        size = job.output_size or default_storage.size(job.output.name)
        members.append((job, name, int(size)))
    return members


def zip_check(jobs: Sequence[GenerationJob]) -> list[tuple[GenerationJob, str, int]]:
    """The members of a zip of ``jobs``, or ``LibraryError`` when none are ready or the total is over the cap."""
    members = zip_members(jobs)
    if not members:
        raise LibraryError("None of the selected videos is ready to download.")
    total = sum(size for _job, _name, size in members)
    cap = int(settings.LIBRARY_ZIP_MAX_BYTES)
    if total > cap:
        raise LibraryError(
            f"The selection is {total / 1024**2:.0f} MB; a download holds at most {cap / 1024**2:.0f} MB. "
            "Select fewer videos."
        )
    return members


def zip_should_stream(members: Sequence[tuple[GenerationJob, str, int]]) -> bool:
    """Small selections stream at once; larger ones are built in the background (with progress and a link)."""
    total = sum(size for _job, _name, size in members)
    return len(members) <= int(settings.LIBRARY_ZIP_STREAM_MAX_FILES) and total <= int(
        settings.LIBRARY_ZIP_STREAM_MAX_BYTES
    )


def manifest_csv(members: Sequence[tuple[GenerationJob, str, int]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(MANIFEST_FIELDS)
    for job, name, _size in members:
        refs = " ".join(f"@{ref.ref_name}:{ref.type}" for ref in job.references.all())
        writer.writerow(
            [
                name,
                str(job.pk),
                job.project.name,
                _csv_safe(job.prompt),
                _csv_safe(job.negative_prompt),
                job.mode,
                job.resolution,
                job.duration,
                job.aspect_ratio,
                "yes" if job.generate_audio_switch else "no",
                "" if job.seed is None else job.seed,
                job.provider,
                refs,
                job.creator.email,
                job.created_at.isoformat(),
                "" if job.charged_credits is None else job.charged_credits,
            ]
        )
    return out.getvalue().encode("utf-8")


_FORMULA = re.compile(r"^[=+\-@\t\r]")


def _csv_safe(text: str) -> str:
    """Prompts open in spreadsheets: a leading = + - @ would run as a formula, so it is quoted with an apostrophe."""
    return f"'{text}" if _FORMULA.match(text) else text


def _file_chunks(name: str) -> Iterator[bytes]:
    with default_storage.open(name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def zip_stream(members: Sequence[tuple[GenerationJob, str, int]]) -> zipstream.ZipStream:
    """A sized, streamed (stored, not recompressed: MP4s don't shrink) zip of the members plus manifest.csv."""
    stream = zipstream.ZipStream(sized=True)
    for job, name, size in members:
        stream.add(_file_chunks(job.output.name or ""), name, size=size)
    manifest = manifest_csv(members)
    stream.add(manifest, "manifest.csv", size=len(manifest))
    return stream


def zip_export_create(*, user: User, team: Team, jobs: Sequence[GenerationJob], name: str) -> ZipExport:
    """Queue a background zip of ``jobs`` (checked against the cap now) and return its row (progress page)."""
    members = zip_check(jobs)
    export = ZipExport.objects.create(
        team=team, user=user, job_ids=[str(job.pk) for job, _n, _s in members], name=name[:120], total=len(members)
    )
    enqueue.enqueue(enqueue.Work("zip_export_build", {"export_id": str(export.pk)}))
    return export


def zip_export_build(*, export_id: UUID) -> None:
    """Build the export's zip into storage, counting progress per video. Idempotent: a finished export is left."""
    claimed = ZipExport.objects.filter(
        pk=export_id, state__in=[ZipExportState.PENDING, ZipExportState.BUILDING]
    ).update(state=ZipExportState.BUILDING, done=0)
    if not claimed:
        return
    export = ZipExport.objects.select_related("user", "team").get(pk=export_id)
    from generations import selectors

    jobs = list(
        selectors.jobs_by_ids(export.user, export.team, export.job_ids)
        .select_related("project", "creator")
        .prefetch_related("references")
        .order_by("-created_at", "-pk")
    )
    try:
        members = zip_check(jobs)
    except LibraryError as exc:
        ZipExport.objects.filter(pk=export.pk).update(
            state=ZipExportState.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        return
    stream = zip_stream(members)
    path = f"exports/{export.team_id}/{export.pk}.zip"
    with tempfile.TemporaryFile() as spool:
        reported = 0
        for chunk in stream:
            spool.write(chunk)
            streamed = min(stream.num_streamed(), len(members))
            if streamed != reported:
                reported = streamed
                ZipExport.objects.filter(pk=export.pk).update(done=streamed)
        size = spool.tell()
        spool.seek(0)
        if default_storage.exists(path):
            default_storage.delete(path)
        saved = default_storage.save(path, File(spool))
    ZipExport.objects.filter(pk=export.pk).update(
        state=ZipExportState.READY, file=saved, size_bytes=size, done=len(members), finished_at=timezone.now()
    )
