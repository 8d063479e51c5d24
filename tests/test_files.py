"""Signed file URLs on local storage: valid links stream the file, forged or expired ones are 404."""

import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from studio.files import signed_url


@pytest.fixture
def stored_name() -> str:
    name = default_storage.save("tests/hello.txt", ContentFile(b"hello, studio"))
    yield name
    default_storage.delete(name)


def test_signed_url_serves_the_file(client: Client, stored_name: str) -> None:
    response = client.get(signed_url(stored_name))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello, studio"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_signed_url_can_ask_for_a_download(client: Client, stored_name: str) -> None:
    response = client.get(signed_url(stored_name, download_as="greeting.txt"))
    assert response["Content-Disposition"] == 'attachment; filename="greeting.txt"'


def test_a_tampered_token_is_404(client: Client, stored_name: str) -> None:
    url = signed_url(stored_name)
    forged = url[:-3] + ("a" if url[-3] != "a" else "b") + url[-2:]
    assert client.get(forged).status_code == 404


def test_an_expired_token_is_404(client: Client, stored_name: str, settings, monkeypatch) -> None:
    url = signed_url(stored_name)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + settings.SIGNED_FILE_URL_MAX_AGE + 5)
    assert client.get(url).status_code == 404


def test_absolute_urls_use_the_public_base_url(stored_name: str, settings) -> None:
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    assert signed_url(stored_name, absolute=True).startswith("https://studio.example.com/files/")


def test_range_requests_return_the_asked_bytes(client: Client, stored_name: str) -> None:
    """Video seeking (and Safari's MP4 playback) needs byte ranges."""
    url = signed_url(stored_name)
    whole = client.get(url)
    assert whole["Accept-Ranges"] == "bytes"
    part = client.get(url, headers={"Range": "bytes=7-12"})
    assert part.status_code == 206
    assert part["Content-Range"] == "bytes 7-12/13"
    assert part["Content-Length"] == "6"
    assert b"".join(part.streaming_content) == b"studio"
    tail = client.get(url, headers={"Range": "bytes=-6"})
    assert b"".join(tail.streaming_content) == b"studio"
    open_ended = client.get(url, headers={"Range": "bytes=7-"})
    assert b"".join(open_ended.streaming_content) == b"studio"


def test_an_unsatisfiable_range_is_416(client: Client, stored_name: str) -> None:
    response = client.get(signed_url(stored_name), headers={"Range": "bytes=50-60"})
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */13"
