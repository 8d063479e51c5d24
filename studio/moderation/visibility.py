"""Who may see a video under review: the ONE rule, used by the library, the job page and the signed file view.

A job's video is *hidden* while its case says so (``Case.hidden``: a provider or pre-screen flag under the
"hidden until reviewed" policy, or a takedown). Hidden videos are not shown to team members anywhere: pages ask
``video_hidden_for`` (one job) or filter with ``hidden_video_q`` (querysets); ``studio.files`` refuses to serve a
hidden job's files on a member's signed URL. Platform staff see them (the review queue signs staff-only URLs).

A reference asset taken down (``Case.hidden`` on its case) is left out of the team's asset library, pickers and API
list (``hidden_asset_q``) and refused as a reference; its files are in quarantine until an overturn restores them,
so links minted before the takedown find nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from generations.models import GenerationJob
    from studio.accounts.models import User


def is_reviewer(user: User | AnonymousUser | Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False))


def hidden_video_q(prefix: str = "") -> Q:
    """Q for jobs whose video is hidden from the team (``prefix`` for a related lookup, e.g. ``"job__"``)."""
    return Q(**{f"{prefix}moderation_case__hidden": True})


def hidden_asset_q(prefix: str = "") -> Q:
    """Q for reference assets taken down (``prefix`` for a related lookup)."""
    return Q(**{f"{prefix}moderation_case__hidden": True})


def job_case(job: GenerationJob) -> Any:
    """The job's case or None; uses the relation when a selector already joined it (``select_related``)."""
    from studio.moderation.models import Case

    try:
        return job.moderation_case
    except Case.DoesNotExist:
        return None


def job_video_hidden(job: GenerationJob) -> bool:
    case = job_case(job)
    return bool(case is not None and case.hidden)


def video_hidden_for(user: User | AnonymousUser | Any, job: GenerationJob) -> bool:
    """True when ``user`` must not see ``job``'s video (staff always may)."""
    return not is_reviewer(user) and job_video_hidden(job)


def stored_file_hidden(name: str) -> bool:
    """True when the stored file ``name`` is a hidden job's video or poster, or in quarantine (the signed file view
    asks this). A taken-down asset's files are in quarantine from the takedown on: their old names no longer exist,
    so asset links need no query here (an asset page signs dozens of them)."""
    if not name.startswith(("generations/", "quarantine/")):
        return False
    if name.startswith("quarantine/"):
        return True
    from generations.models import GenerationJob

    return GenerationJob.objects.filter(Q(output=name) | Q(poster=name)).filter(hidden_video_q()).exists()
