"""``{{ asset.thumbnail.name|signed_url }}``: a signed, expiring URL for a stored file.

Only use it on objects the view already fetched through ``studio.teams.access``: the URL is a capability."""

from __future__ import annotations

from django import template

from studio.files import signed_url as _signed_url

register = template.Library()


@register.filter
def signed_url(name: str) -> str:
    return _signed_url(name or "")


@register.simple_tag
def signed_download_url(name: str, download_as: str) -> str:
    return _signed_url(name or "", download_as=download_as)
