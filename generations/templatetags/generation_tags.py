"""``{% project_videos project as jobs %}``: the project's jobs for the current user (through the access module)."""

from __future__ import annotations

from typing import Any

from django import template

from generations.selectors import project_jobs

register = template.Library()


@register.simple_tag(takes_context=True)
def project_videos(context: dict[str, Any], project: Any) -> Any:
    request = context.get("request")
    if request is None:
        return []
    return project_jobs(request.user, project)


@register.filter
def state_badge(state: str) -> str:
    """CSS class for a job state badge."""
    if state == "succeeded":
        return "ok"
    if state in ("failed", "moderated", "expired", "canceled"):
        return "bad"
    return "busy"


@register.filter
def has_active(jobs: Any) -> bool:
    """True when any job in ``jobs`` is still running (the library then refreshes itself)."""
    return any(not job.is_terminal for job in jobs)


@register.filter
def active_ids(jobs: Any) -> str:
    """Comma-separated ids of the jobs still running (the library's status refresh asks only for these)."""
    return ",".join(str(job.pk) for job in jobs if not job.is_terminal)


@register.filter
def download_name(job: Any) -> str:
    """The file name a download of ``job`` gets (``<project>_<prompt words>_<resolution>.mp4``)."""
    from generations.services.library import download_name as name_for

    return name_for(job)
