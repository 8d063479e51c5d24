"""The SSRF guard for URLs a provider hands us (output videos) before we fetch them.

Invariant: ``check_url`` returns only for an http(s) URL whose host is either listed in ``settings.SSRF_ALLOWED_HOSTS``
or resolves *only* to public unicast addresses. Everything else raises ``UnsafeURLError``.

Known limit: the host is resolved here and again by the HTTP client when it connects, so a DNS answer that changes in
between (rebinding) is not caught. Redirects are re-checked hop by hop by ``generations.providers.http.download``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from generations.providers.errors import PermanentError

Resolver = Callable[[str, int], list[str]]


class UnsafeURLError(PermanentError):
    """The URL is not one we may fetch (scheme, private address, unresolvable host)."""


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; False for private, loopback, link-local, reserved, multicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def configured_allowed_hosts() -> list[str]:
    """``settings.SSRF_ALLOWED_HOSTS`` (empty when Django settings are not configured)."""
    from django.conf import settings

    if not settings.configured:
        return []
    return [str(host) for host in getattr(settings, "SSRF_ALLOWED_HOSTS", [])]


def host_is_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """Exact, case-insensitive host match; an entry starting with "." also matches its subdomains."""
    host = host.lower().rstrip(".")
    for entry in allowed_hosts:
        entry = entry.lower().rstrip(".")
        if host == entry or (entry.startswith(".") and (host.endswith(entry) or host == entry[1:])):
            return True
    return False


def check_url(
    url: str,
    *,
    allowed_hosts: Iterable[str] | None = None,
    resolver: Resolver | None = None,
) -> None:
    """Raise ``UnsafeURLError`` unless ``url`` is safe to fetch (see the module invariant)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"refusing to fetch {parts.scheme or 'scheme-less'} URL; only http and https are allowed")
    host = parts.hostname
    if not host:
        raise UnsafeURLError("refusing to fetch a URL without a host")
    if parts.username or parts.password:
        raise UnsafeURLError("refusing to fetch a URL with credentials in it")
    allowed = configured_allowed_hosts() if allowed_hosts is None else list(allowed_hosts)
    if host_is_allowed(host, allowed):
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURLError(f"refusing to fetch a URL with an invalid port: {exc}") from exc
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = (resolver or _system_resolver)(host, port)
        except OSError as exc:
            raise UnsafeURLError(f"cannot resolve host {host!r}: {exc}") from exc
    if not addresses:
        raise UnsafeURLError(f"host {host!r} resolved to no address")
    for address in addresses:
        if not is_public_address(address):
            raise UnsafeURLError(f"refusing to fetch {host!r}: it resolves to non-public address {address}")
