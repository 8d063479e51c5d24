"""Image inputs: the emulator's own uploads, ``data:`` URIs, or a real fetch with httpx (loopback is fine).

URLs that point at the emulator's own uploads (``…/files/uploads/<id>``) are resolved from the store, whatever the
host, so ``http://emulator.test/...`` works in-process without any network.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import urlsplit

import httpx

from generations.emulators.render import decode_image
from generations.emulators.store import JobStore

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_SIDE = 10_000
_UPLOAD_PATH = re.compile(r"/files/uploads/([0-9a-f]{32})(?:\.[A-Za-z0-9]+)?$")


class InputError(Exception):
    """An input image could not be fetched or is not an acceptable image. ``unreachable`` tells which."""

    def __init__(self, message: str, *, unreachable: bool) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def load_image(
    url: str,
    *,
    store: JobStore,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 5.0,
) -> tuple[bytes, tuple[int, int]]:
    """Return the image's bytes and ``(width, height)``; raise ``InputError``."""
    data = _fetch(url, store=store, transport=transport, timeout=timeout)
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError("image is larger than 20 MB", unreachable=False)
    try:
        image = decode_image(data)
    except ValueError as exc:
        raise InputError(str(exc), unreachable=False) from exc
    if max(image.size) > MAX_IMAGE_SIDE:
        raise InputError("image side exceeds 10000 px", unreachable=False)
    return data, image.size


def _fetch(url: str, *, store: JobStore, transport: httpx.BaseTransport | None, timeout: float) -> bytes:
    if not isinstance(url, str) or not url:
        raise InputError("image url is empty", unreachable=True)
    if url.startswith("data:"):
        try:
            return base64.b64decode(url.split(",", 1)[1], validate=True)
        except (IndexError, ValueError) as exc:
            raise InputError("data URI is not valid base64", unreachable=False) from exc
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"not an http(s) URL: {url[:100]}", unreachable=True)
    own = _UPLOAD_PATH.search(parts.path)
    if own:
        upload = store.get_upload(own.group(1))
        if upload is not None:
            return upload.data
    try:
        with httpx.Client(transport=transport, timeout=timeout, follow_redirects=True) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise InputError(f"image url is not accessible: {exc.__class__.__name__}", unreachable=True) from exc
    if response.status_code != 200:
        raise InputError(f"image url is not accessible: HTTP {response.status_code}", unreachable=True)
    return response.content
