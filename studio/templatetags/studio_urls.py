"""``{% path 'name' %}``: ``{% url 'name' %}`` for URLs without arguments, reversed once per process.

The layout links to about a dozen fixed pages (dashboard, projects, assets, notifications, account, …) on every
request, and ``reverse`` costs ~30-45 µs a call (it re-walks the resolver's possibilities and quotes the result):
~0.5 ms of each page for strings that never change. A URL without arguments depends only on the name, the script
prefix (an app served under ``/studio/``), the request's URLconf and ``ROOT_URLCONF``, so the result is cached under
exactly those keys (``reverse_once``; ``reverse_ids`` builds on it for the URL of one object, such as a card's
job page).

A name that does not resolve raises ``NoReverseMatch`` like ``{% url %}`` (and is not cached). Links that may not
exist in some deployments (``{% url … as x %}{% if x %}``) keep ``{% url %}``, which swallows that error.
"""

from __future__ import annotations

import functools
from typing import Any
from uuid import UUID

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


#: Marker ids (one per argument): no real id is this large, and reversing them quotes nothing.
_INT_MARKERS = tuple(str(9_000_000_000_000_000_000 + i) for i in range(8))
_UUID_MARKERS = tuple(str(UUID(int=(1 << 127) + i)) for i in range(8))


def reverse_ids(name: str, **ids: Any) -> str:
    """``reverse(name, kwargs=ids)`` for a URL whose arguments are ids (non-negative ints or UUIDs), as a list of
    cards links each of its rows: the path is reversed once (``reverse_once``) with marker ids, and each marker is
    replaced by the real id. ``reverse`` prints an int or a UUID as ``str`` does and quotes nothing in them, so the
    result is the same. Any other argument is reversed as usual."""
    markers: dict[str, str] = {}
    for index, (key, value) in enumerate(sorted(ids.items())):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0 and index < len(_INT_MARKERS):
            markers[key] = _INT_MARKERS[index]
        elif isinstance(value, UUID) and index < len(_UUID_MARKERS):
            markers[key] = _UUID_MARKERS[index]
        else:
            return reverse(name, kwargs=ids)
    path = reverse_once(name, **markers)
    for key, marker in markers.items():
        path = path.replace(marker, str(ids[key]))
    return path


@register.simple_tag(name="path")
def path_tag(name: str, **ids: Any) -> str:
    """The path of the URL ``name`` (``{% path 'dashboard' %}``, ``{% path 'dashboard' as url %}``), or of one
    identified by ids (``{% path 'assets:detail' pk=asset.pk %}``, ``reverse_ids``)."""
    return reverse_ids(name, **ids) if ids else reverse_once(name)
