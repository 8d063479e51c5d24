"""Celery tasks for moderation (one service call each)."""

from __future__ import annotations

from celery import shared_task

from studio.moderation.services import quarantine_purge


@shared_task(name="studio.moderation.tasks.purge_quarantine")  # type: ignore[untyped-decorator]
def purge_quarantine() -> int:
    """Daily (beat): delete taken-down videos whose appeal window closed without a pending appeal."""
    return quarantine_purge()
