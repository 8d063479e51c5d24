"""Media on S3-compatible storage, against moto's real S3 server on a loopback port (no AWS, no mocks of ours)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from studio.files import signed_url
from tests.net import free_port

BUCKET = "studio-test-media"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.2)
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


def storages_from_env(**env: str) -> dict:
    """STORAGES as studio/settings.py builds it from these environment variables (read in a fresh interpreter)."""
    code = "import json; from django.conf import settings; print(json.dumps(settings.STORAGES))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return json.loads(result.stdout)


def test_settings_switch_media_to_private_presigned_s3_when_a_bucket_is_set() -> None:
    default = storages_from_env(AWS_STORAGE_BUCKET_NAME="media", AWS_S3_ENDPOINT_URL="http://s3.local:9000")["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    options = default["OPTIONS"]
    assert options["bucket_name"] == "media"
    assert options["endpoint_url"] == "http://s3.local:9000"
    assert options["default_acl"] == "private"
    assert options["querystring_auth"] is True
    assert options["file_overwrite"] is False
    assert storages_from_env()["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"


@pytest.fixture
def s3_storage(moto_endpoint: str, settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    settings.AWS_STORAGE_BUCKET_NAME = BUCKET
    configured = storages_from_env(
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_S3_ENDPOINT_URL=moto_endpoint,
        AWS_S3_REGION_NAME="us-east-1",
        AWS_QUERYSTRING_EXPIRE="600",
    )
    settings.STORAGES = {**settings.STORAGES, "default": configured["default"]}
    yield


def test_files_round_trip_through_s3(s3_storage: None, moto_endpoint: str) -> None:
    name = default_storage.save("videos/clip.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42"))
    assert default_storage.exists(name)
    with default_storage.open(name) as handle:
        assert handle.read() == b"\x00\x00\x00\x18ftypmp42"
    # Not public: an unsigned GET is refused.
    assert httpx.get(f"{moto_endpoint}/{BUCKET}/{name}").status_code == 403


def test_signed_url_is_a_presigned_expiring_s3_url(s3_storage: None) -> None:
    name = default_storage.save("assets/ref.png", ContentFile(b"png-bytes"))
    url = signed_url(name, download_as="ref.png")
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=600" in url
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"png-bytes"
    assert response.headers["content-disposition"] == 'attachment; filename="ref.png"'


def test_readiness_checks_s3(s3_storage: None, client, db) -> None:
    response = client.get("/readyz")
    assert response.json()["checks"]["storage"] == "ok"
