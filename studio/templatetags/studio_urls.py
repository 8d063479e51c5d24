"""``{% path 'name' %}``: ``{% url 'name' %}`` for URLs without arguments, reversed once per process.

The layout links to about a dozen fixed pages (dashboard, projects, assets, notifications, account, …) on every
request, and ``reverse`` costs ~30-45 µs a call (it re-walks the resolver's possibilities and quotes the result):
~0.5 ms of each page for strings that never change. A URL without arguments depends only on the name, the script
prefix (an app served under ``/studio/``), the request's URLconf and ``ROOT_URLCONF``, so the result is cached under
exactly those keys (``reverse_once``; ``generations.templatetags.generation_tags.job_url`` uses it for the job page).

A name that does not resolve raises ``NoReverseMatch`` like ``{% url %}`` (and is not cached). Links that may not
exist in some deployments (``{% url … as x %}{% if x %}``) keep ``{% url %}``, which swallows that error.
"""

from __future__ import annotations

import functools

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@functools.lru_cache(maxsize=256)
def _reversed(
    name: str, kwargs: tuple[tuple[str, str], ...], script_prefix: str, urlconf: str | None, root_urlconf: str
) -> str:
    return reverse(name, kwargs=dict(kwargs) or None, urlconf=urlconf)


def reverse_once(name: str, **kwargs: str) -> str:
    """``reverse(name, kwargs=kwargs)``, computed once per process for each name, arguments, script prefix and
    URLconf (the module docstring says why). For constant arguments only: the cache keeps every distinct call."""
    return _reversed(name, tuple(sorted(kwargs.items())), get_script_prefix(), get_urlconf(), settings.ROOT_URLCONF)


@register.simple_tag(name="path")
def path_tag(name: str) -> str:
    """The path of the argument-less URL ``name`` (``{% path 'dashboard' %}``, ``{% path 'dashboard' as url %}``)."""
    return reverse_once(name)
