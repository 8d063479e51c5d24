"""``{% project_videos project as jobs %}``: the project's jobs for the current user (through the access module)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import truncatechars
from django.utils.safestring import mark_safe

from generations.selectors import project_jobs
from studio.templatetags.studio_urls import reverse_ids

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


@register.filter
def job_url(job: Any) -> str:
    """``{% url 'generations:job' pk=job.pk %}`` for library cards, without a ``reverse()`` per card.

    ``reverse`` costs ~45 µs (it re-checks the pattern's converters each call); cards needed it twice, 24 cards a
    page: 2.3 ms of the library page. The path differs between jobs only by the id, so the path is reversed once (per
    script prefix and URLconf, the inputs ``reverse`` depends on) with a marker id, and each card's id replaces it
    (``studio.templatetags.studio_urls.reverse_ids``, which the asset grid uses too).
    """
    return reverse_ids("generations:job", pk=job.pk)


@register.filter
def card_title(job: Any, length: int) -> str:
    """The card's title: the prompt (or the mode for prompt-less jobs) cut to ``length`` characters.

    The same as ``job.prompt|default:job.get_mode_display|truncatechars:length``, with a fast path: most prompts
    already fit, and ``truncatechars`` builds a lazy ``Truncator`` and normalises the text even then (~25 µs a call,
    two calls per card)."""
    text = job.prompt or job.get_mode_display()
    return text if len(text) <= length else truncatechars(text, length)


@register.simple_tag(takes_context=True)
def library_cards(context: Any, cards: Any, oob: bool = False) -> str:
    """The library's cards (``generations.cards.render_card``; a project's library omits each card's project name).
    The moderation block still comes from ``{% moderation_card %}``, which renders only for cards that have one."""
    from generations.cards import render_card
    from studio.moderation.templatetags.moderation_tags import moderation_card

    show_project = not context.get("library_project")
    return mark_safe(  # noqa: S308 - render_card escapes every value it prints
        "".join(
            render_card(card, moderation=moderation_card(context, card.job), oob=oob, show_project=show_project)
            for card in cards
        )
    )
