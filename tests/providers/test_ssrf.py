"""The SSRF guard: only http(s) to public addresses, unless the host is explicitly allowed."""

from __future__ import annotations

from typing import Any

import pytest

from generations.providers.ssrf import UnsafeURLError, check_url, is_public_address


def resolver_to(*addresses: str) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def failing_resolver(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",  # noqa: S104 - an address under test, not a bind
        "224.0.0.1",
        "240.0.0.1",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)
    with pytest.raises(UnsafeURLError):
        check_url(f"http://[{address}]/x" if ":" in address else f"http://{address}/x", allowed_hosts=[])


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)
    check_url(f"https://[{address}]/v.mp4" if ":" in address else f"https://{address}/v.mp4", allowed_hosts=[])


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://cdn.example.com/x", "gopher://x", "//cdn/x", "x"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_url(url, allowed_hosts=[], resolver=resolver_to("93.184.216.34"))


def test_hostname_resolving_to_private_address_is_refused() -> None:
    with pytest.raises(UnsafeURLError, match=r"non-public address 10\.1\.2\.3"):
        check_url("https://cdn.example.com/v.mp4", allowed_hosts=[], resolver=resolver_to("93.184.216.34", "10.1.2.3"))


def test_hostname_resolving_to_public_addresses_passes() -> None:
    check_url("https://cdn.example.com/v.mp4", allowed_hosts=[], resolver=resolver_to("93.184.216.34"))


def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(UnsafeURLError, match="cannot resolve"):
        check_url("https://nowhere.invalid/v.mp4", allowed_hosts=[], resolver=failing_resolver)


def test_credentials_in_url_are_refused() -> None:
    with pytest.raises(UnsafeURLError):
        check_url("https://user:pw@cdn.example.com/v.mp4", allowed_hosts=[], resolver=resolver_to("93.184.216.34"))


def test_allowed_hosts_skip_resolution() -> None:
    check_url("http://emulator.test/x.mp4", allowed_hosts=["emulator.test"], resolver=failing_resolver)
    check_url("http://127.0.0.1:8765/x.mp4", allowed_hosts=["127.0.0.1"])
    check_url("http://a.media.test/x", allowed_hosts=[".media.test"], resolver=failing_resolver)
    with pytest.raises(UnsafeURLError):
        check_url("http://evilmedia.test/x", allowed_hosts=[".media.test"], resolver=resolver_to("10.0.0.1"))


def test_allowed_hosts_come_from_settings(settings: Any) -> None:
    settings.SSRF_ALLOWED_HOSTS = ["localhost"]
    check_url("http://LOCALHOST:8765/x")
    settings.SSRF_ALLOWED_HOSTS = []
    with pytest.raises(UnsafeURLError):
        check_url("http://localhost:8765/x")
