"""Finalizing: the output goes into our storage, is checked, gets a poster — and only then is the job ``succeeded``
and the hold captured (rate × billed seconds, capped at the hold), in one transaction.

A cancel requested while the provider worked is honoured here: the output is discarded, and the job is ``canceled``
with the hold captured, because the provider billed us for it (the charge policy the job page states).
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db.models import F
from django.utils import timezone

from generations.models import GenerationJob, _output_path, _poster_path
from generations.outputs import InvalidOutput, fetch_output
from generations.providers.errors import PermanentError, TransientError
from generations.services import config
from generations.services.lifecycle import finish_job
from generations.states import State

logger = logging.getLogger("generations.finalize")


class RetryLater(Exception):
    """A passing failure: run the same finalize again after ``delay`` seconds (the task retries)."""

    def __init__(self, message: str, *, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


def _fail(job: GenerationJob, *, code: str, message: str) -> None:
    finish_job(
        job,
        to=State.FAILED,
        from_states=[State.DOWNLOADING],
        note=f"output unusable: {message}"[:500],
        error_code=code,
        error_message=f"The video could not be saved: {message}",
    )


def generation_finalize(*, job_id: UUID) -> None:
    """Store, check and publish ``job_id``'s output. Idempotent: a second run after success does nothing.

    Raises ``RetryLater`` on transient download failures (until ``max_finalize_attempts``).
    """
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None or job.state != State.DOWNLOADING:
        return
    if job.cancel_requested:
        finish_job(
            job,
            to=State.CANCELED,
            from_states=[State.DOWNLOADING],
            money="capture",
            note="canceled by the user while the provider worked; output discarded, provider's charge passed on",
        )
        return
    GenerationJob.objects.filter(pk=job.pk).update(finalize_attempts=F("finalize_attempts") + 1)
    attempts = job.finalize_attempts + 1
    try:
        fetched = fetch_output(job.provider_output_url, provider=job.provider)
    except TransientError as exc:
        if attempts >= config.max_finalize_attempts():
            _fail(job, code="download_failed", message=str(exc))
            return
        raise RetryLater(str(exc), delay=min(2.0**attempts, 60.0)) from exc
    except PermanentError as exc:
        _fail(job, code=(exc.code or "download_refused")[:100], message=exc.message)
        return
    except InvalidOutput as exc:
        _fail(job, code="invalid_output", message=str(exc))
        return
    with fetched.file:
        output_name = _save(_output_path(job, ""), File(fetched.file))
    poster_name = _save(_poster_path(job, ""), ContentFile(fetched.poster_jpeg))
    probe = fetched.probe
    done = finish_job(
        job,
        to=State.SUCCEEDED,
        from_states=[State.DOWNLOADING],
        money="capture",
        note=f"saved {probe.size} bytes ({probe.codec} {probe.width}x{probe.height}, {probe.duration:.2f} s)",
        output=output_name,
        poster=poster_name,
        video_codec=probe.codec[:20],
        video_width=probe.width,
        video_height=probe.height,
        video_duration=probe.duration,
        has_audio=probe.has_audio,
        output_size=probe.size,
        provider_output_url="",
    )
    if not done:
        # Another run published its own copy first; ours is an orphan.
        job.refresh_from_db(fields=["output", "poster"])
        for name in (output_name, poster_name):
            if name not in (job.output.name, job.poster.name):
                default_storage.delete(name)
        return
    logger.info("job %s succeeded at %s", job.pk, timezone.now())


def _save(name: str, content: File[bytes]) -> str:
    """Save under ``name`` (deterministic per job); a leftover from an interrupted run is replaced."""
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, content)
