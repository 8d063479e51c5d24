"""Real image files made with Pillow at test time (no fixtures on disk), and a helper that stores an asset."""

from __future__ import annotations

import io
import itertools
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

_colors = itertools.count(1)


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (64, 48), color: tuple[int, int, int] | None = None, **save: Any
) -> bytes:
    """A real image. Each call without ``color`` gets a new colour, so files never collide as duplicates."""
    if color is None:
        n = next(_colors)
        color = (n * 37 % 256, n * 91 % 256, n * 53 % 256)
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save)
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF carries a GPS IFD (0x8825) and an orientation tag."""
    image = Image.new("RGB", (80, 40), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° CW to display
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 36.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "the test file must really carry GPS"
    return data


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG header declaring ``width`` × ``height`` px with almost no pixel data: the classic
    decompression bomb shape (decoding it would need width × height bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def make_asset(team: Any, user: Any, **kwargs: Any) -> Any:
    """Store a fresh asset for ``team`` through the real service."""
    from studio.assets.services import UploadStatus, asset_upload

    name = kwargs.pop("filename", "ref.png")
    outcome = asset_upload(team=team, user=user, uploaded_file=upload(name, image_bytes()), filename=name, **kwargs)
    assert outcome.status == UploadStatus.ACCEPTED, outcome.message
    return outcome.asset


def bulk_assets(team: Any, count: int, *, start: int = 0, file: str = "assets/bulk.png") -> list[Any]:
    """``count`` asset rows for ``team`` in one ``bulk_create`` (numbered from ``start``, newest first): for tests
    of how pages scale with the library, where uploading each through the service would take minutes."""
    from datetime import timedelta

    from django.utils import timezone

    from studio.assets.models import Asset

    now = timezone.now()
    rows = [
        Asset(
            team=team,
            name=f"Asset {n}",
            ref_name=f"a{n}",
            file=file,
            format="PNG",
            width=64,
            height=48,
            size_bytes=100,
            sha256=f"{n:064x}",
            created_at=now - timedelta(seconds=n),
        )
        for n in range(start, start + count)
    ]
    return Asset.objects.bulk_create(rows, batch_size=1000)


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Stored files go to a per-test directory."""
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": "/media/"},
        },
    }
    settings.AWS_STORAGE_BUCKET_NAME = ""
    return root
