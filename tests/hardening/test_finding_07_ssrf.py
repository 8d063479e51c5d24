"""Issue 13 finding 7: IPv6 forms embedding an IPv4 address, and numeric IPv4 spellings, are refused by the SSRF
guard; a download connects to the address that was checked (a rebinding resolver cannot swap in a private one)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest

from generations.providers import ssrf
from generations.providers.http import download
from generations.providers.ssrf import UnsafeURLError, check_url, is_public_address
from tests.providers.conftest import MockProvider, mock_transport

__all__ = ["mock_transport"]  # the fixture, used by name below


def resolver_to(*addresses: str) -> Any:
    return lambda host, port: list(addresses)


# (URL form, what it really reaches) — every row must be refused.
REFUSED = [
    # 6to4: 2002:AABB:CCDD:: embeds AA.BB.CC.DD
    ("http://[2002:7f00:1::]/", "6to4 → 127.0.0.1"),
    ("http://[2002:a9fe:a9fe::1]/", "6to4 → 169.254.169.254"),
    ("http://[2002:5db8:d822::1]/", "6to4 → a public address, still a tunnel"),
    # Teredo: 2001:0::/32, client address XOR ffff:ffff in the last 32 bits
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "Teredo → 127.0.0.1"),
    ("http://[2001:0:5ef5:79fd:0:0:f5ff:fffe]/", "Teredo → 10.0.0.1"),
    # NAT64 (well-known and local-use prefixes)
    ("http://[64:ff9b::7f00:1]/", "NAT64 → 127.0.0.1"),
    ("http://[64:ff9b::a9fe:a9fe]/", "NAT64 → 169.254.169.254"),
    ("http://[64:ff9b:1::a00:1]/", "NAT64 local → 10.0.0.1"),
    # IPv4-mapped and IPv4-compatible
    ("http://[::ffff:127.0.0.1]/", "mapped → 127.0.0.1"),
    ("http://[::ffff:7f00:1]/", "mapped, hex → 127.0.0.1"),
    ("http://[::ffff:169.254.169.254]/", "mapped → metadata"),
    ("http://[::127.0.0.1]/", "compatible → 127.0.0.1"),
    # Decimal, octal, hex and short IPv4 spellings
    ("http://2130706433/", "decimal → 127.0.0.1"),
    ("http://017700000001/", "octal → 127.0.0.1"),
    ("http://0177.0.0.1/", "octal dotted → 127.0.0.1"),
    ("http://0x7f.0.0.1/", "hex dotted → 127.0.0.1"),
    ("http://0x7f000001/", "hex → 127.0.0.1"),
    ("http://127.1/", "short → 127.0.0.1"),
    ("http://3232235777/", "decimal → 192.168.1.1"),
    ("http://2852039166/", "decimal → 169.254.169.254"),
    ("http://127.0.0.1./", "trailing dot → 127.0.0.1"),
]


@pytest.mark.parametrize("url,reaches", REFUSED, ids=[r[1] for r in REFUSED])
def test_finding_07_ssrf_table_refuses_embedded_and_numeric_forms(url: str, reaches: str) -> None:
    # A resolver that would say "public" proves the refusal comes from reading the address itself.
    with pytest.raises(UnsafeURLError):
        check_url(url, allowed_hosts=[], resolver=resolver_to("93.184.216.34"))


@pytest.mark.parametrize(
    "address",
    ["2002:7f00:1::", "2001:0:4136:e378:8000:63bf:80ff:fffe", "64:ff9b::7f00:1", "64:ff9b:1::a00:1", "::7f00:1"],
)
def test_finding_07_names_resolving_to_embedded_forms_are_refused(address: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_url("https://cdn.example.com/v.mp4", allowed_hosts=[], resolver=resolver_to(address))
    assert not is_public_address(address)


@pytest.mark.parametrize("url", ["https://93.184.216.34/v.mp4", "https://[2606:4700:4700::1111]/v.mp4"])
def test_finding_07_canonical_public_addresses_still_pass(url: str) -> None:
    assert check_url(url, allowed_hosts=[]) != []


class RebindingResolver:
    """Public on the first lookup, private on every later one: the classic DNS-rebinding attack."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return ["93.184.216.34"] if self.calls == 1 else ["127.0.0.1"]


def test_finding_07_rebinding_resolver_public_then_private(
    mock_transport: MockProvider, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SSRF_ALLOWED_HOSTS = []
    resolver = RebindingResolver()
    monkeypatch.setattr(ssrf, "_system_resolver", resolver)
    mock_transport.reply(httpx.Response(200, content=b"video"))
    out = io.BytesIO()
    assert download("https://cdn.example.com/out/v.mp4", out, max_bytes=100) == 5
    [request] = mock_transport.requests
    # The connection goes to the checked address; the name travels in Host and in the TLS SNI.
    assert request.url.host == "93.184.216.34"
    assert request.url.path == "/out/v.mp4"
    assert request.headers["Host"] == "cdn.example.com"
    assert request.extensions["sni_hostname"] == "cdn.example.com"
    assert resolver.calls == 1  # never asked again, so the private answer is never used
    # A later download resolves afresh and is refused before any request: the second answer is private.
    with pytest.raises(UnsafeURLError):
        download("https://cdn.example.com/out/v.mp4", io.BytesIO(), max_bytes=100)
    assert len(mock_transport.requests) == 1


def test_finding_07_redirects_keep_the_name_and_are_pinned_again(
    mock_transport: MockProvider, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SSRF_ALLOWED_HOSTS = []
    monkeypatch.setattr(ssrf, "_system_resolver", resolver_to("93.184.216.34"))
    mock_transport.reply(httpx.Response(302, headers={"Location": "/second.mp4"}), httpx.Response(200, content=b"ok"))
    assert download("https://cdn.example.com:8443/first.mp4", io.BytesIO(), max_bytes=10) == 2
    second = mock_transport.requests[1]
    assert (second.url.host, second.url.port, second.url.path) == ("93.184.216.34", 8443, "/second.mp4")
    assert second.headers["Host"] == "cdn.example.com:8443"
