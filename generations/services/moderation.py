"""The pipeline's hooks into moderation (``studio.moderation``): each opens or adds to the job's review case.

- ``on_job_moderated``: right after a job became ``moderated`` (the provider refused it; its hold already released).
- ``on_output_flagged``: the provider delivered the video but flagged it (WaveSpeed ``has_nsfw_contents``); called
  before the output is saved, so the video is hidden from the team from the moment it exists.
- ``screen_request``: the pre-screen and generation restrictions, before anything is held (``generation_preview``);
  ``on_job_created`` opens a case for a prompt with flagged terms, in the job's creating transaction.

The job's own state is final or moving on when these run, so a failure here is logged and never undoes it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generations.models import GenerationJob
    from studio.accounts.models import User
    from studio.moderation.prescreen import Screening
    from studio.teams.models import Team

logger = logging.getLogger("generations.moderation")


def on_job_moderated(job: GenerationJob) -> None:
    """Open (or add to) the review case of a job the provider refused. Must not raise: the job is already final."""
    from studio.moderation.services import job_refused_by_provider

    try:
        job_refused_by_provider(job)
    except Exception:
        logger.exception("job %s: could not open its moderation case", job.pk)


def on_output_flagged(job: GenerationJob, *, verdict: str) -> None:
    """Open the review case of a delivered-but-flagged video (it is hidden until reviewed, per policy)."""
    from studio.moderation.services import job_output_flagged

    try:
        job_output_flagged(job, verdict=verdict)
    except Exception:
        logger.exception("job %s: could not open its moderation case", job.pk)


def screen_request(*, user: User, team: Team, prompt: str, negative_prompt: str = "") -> Screening:
    """Refuse (``GenerationRefused``) a restricted creator or a prompt with a blocked term; otherwise return the
    screening (its ``flagged`` terms open a case once the job exists)."""
    from generations.services.jobs import GenerationRefused
    from studio.moderation.prescreen import prompt_screen
    from studio.moderation.services import generation_restriction

    restriction = generation_restriction(user=user, team=team)
    if restriction is not None:
        whom = "You are" if restriction.user_id else "This team is"
        raise GenerationRefused(f"{whom} restricted from generating: {restriction.reason}")
    screening = prompt_screen(prompt, negative_prompt)
    if screening.blocked:
        raise GenerationRefused(screening.block_message)
    return screening


def on_job_created(job: GenerationJob, screening: Screening) -> None:
    """Inside the creating transaction: a prompt with flagged terms opens the job's case (hiding its video)."""
    if screening.flagged:
        from studio.moderation.services import job_prompt_flagged

        job_prompt_flagged(job, terms=[term.term for term in screening.flagged])
