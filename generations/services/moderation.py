"""The hook for moderated jobs. The moderation app (review cases, appeals) does not exist yet.

``on_job_moderated`` is called once, right after a job became ``moderated`` (its hold already released). When
``studio/moderation/`` lands, this function opens the review case there; until then it only logs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generations.models import GenerationJob

logger = logging.getLogger("generations.moderation")


def on_job_moderated(job: GenerationJob) -> None:
    """Open a review case for ``job`` (TODO: the moderation app). Must not raise: the job is already final."""
    logger.warning(
        "job %s moderated by %s (code %s): %s — review case pending the moderation app",
        job.pk,
        job.provider,
        job.error_code or "-",
        job.error_message or "-",
    )
