"""The SSRF guard for URLs a provider hands us (output videos) before we fetch them.

Invariant: ``check_url`` returns only for an http(s) URL whose host is either listed in ``settings.SSRF_ALLOWED_HOSTS``
or resolves *only* to public unicast addresses. Everything else raises ``UnsafeURLError``.

DNS rebinding: the host is resolved once, here; ``check_url`` returns the checked addresses and
``generations.providers.http.download`` connects to one of them (keeping the Host header and TLS SNI/certificate
check on the name), so a DNS answer that changes afterwards is never used. Redirects are re-checked hop by hop.
"""

from __future__ import annotations

import ipaddress
import re
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


# IPv6 ranges that carry an IPv4 address inside them and reach it through a translator or tunnel (issue 13
# finding 7): 6to4 (2002::/16; 2002:7f00:1:: is 127.0.0.1), Teredo (2001::/32), NAT64 (64:ff9b::/96 well-known,
# 64:ff9b:1::/48 local) and the deprecated IPv4-compatible ::a.b.c.d. No provider serves files from them, and the
# address they lead to is not the one we would check, so they are refused outright, whatever they embed.
_TRANSLATED_V6 = tuple(
    ipaddress.IPv6Network(net) for net in ("2002::/16", "2001::/32", "64:ff9b::/96", "64:ff9b:1::/48", "::/96")
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a transition-form IPv6 address leads to (None when it is not one)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _TRANSLATED_V6):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; False for private, loopback, link-local, reserved, multicast,
    and for every IPv6 form that embeds an IPv4 address (mapped ones are judged by the address they map)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    elif isinstance(ip, ipaddress.IPv6Address) and embedded_ipv4(ip) is not None:
        return False
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
) -> list[str]:
    """Raise ``UnsafeURLError`` unless ``url`` is safe to fetch (see the module invariant). Returns the checked
    addresses the caller must connect to (``download`` pins the connection to the first), or ``[]`` for an allowed
    host, which is fetched by name."""
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
        return []
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURLError(f"refusing to fetch a URL with an invalid port: {exc}") from exc
    if _NUMERIC_HOST.fullmatch(host):
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            # 2130706433, 0177.0.0.1, 0x7f.1, 127.1: the C resolver reads these as IPv4 addresses; we never fetch one.
            raise UnsafeURLError(f"refusing to fetch {host!r}: not a canonical dotted-quad IPv4 address") from None
        else:
            _refuse_non_public(host, addresses)
            return addresses
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = (resolver or _system_resolver)(host, port)
        except OSError as exc:
            raise UnsafeURLError(f"cannot resolve host {host!r}: {exc}") from exc
    if not addresses:
        raise UnsafeURLError(f"host {host!r} resolved to no address")
    _refuse_non_public(host, addresses)
    return addresses


# A host made only of digits, dots and hex markers is an address (in some notation), never a name.
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.IGNORECASE)


def _refuse_non_public(host: str, addresses: list[str]) -> None:
    for address in addresses:
        try:
            public = is_public_address(address)
        except ValueError:
            raise UnsafeURLError(f"refusing to fetch {host!r}: it resolves to an unreadable address") from None
        if not public:
            raise UnsafeURLError(f"refusing to fetch {host!r}: it resolves to non-public address {address}")
