"""The client's address as seen through the configured proxies (``TRUSTED_PROXY_COUNT``).

With no trusted proxy, the connecting address (REMOTE_ADDR) is the client. Behind N trusted proxies, each appends
the address it received from to ``X-Forwarded-For``, so the client is the N-th entry from the right: entries further
left were written by the client itself and cannot be trusted. A header shorter than N means the request did not come
through all the proxies; the leftmost entry is then the best we know.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    trusted = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    remote = _valid(request.META.get("REMOTE_ADDR", "") or "")
    if trusted <= 0:
        return remote
    forwarded = [part for part in (request.META.get("HTTP_X_FORWARDED_FOR", "") or "").split(",") if part.strip()]
    if not forwarded:
        return remote
    chosen = forwarded[-trusted] if len(forwarded) >= trusted else forwarded[0]
    return _valid(chosen) or remote
