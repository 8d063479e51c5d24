"""Private files: every URL we hand out for a stored file is signed and expires.

Access is decided *before* a URL is minted (through ``studio.teams.access``); the URL itself is then a short-lived
capability, which is also what lets a provider fetch a reference image from ``PUBLIC_BASE_URL``. With S3 the storage
presigns its own URLs; with local storage ``serve_signed_file`` checks our signature and streams the file.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from typing import IO

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

_SALT = "studio.files.signed"


def _uses_s3() -> bool:
    return bool(settings.AWS_STORAGE_BUCKET_NAME)


def signed_url(
    name: str,
    *,
    absolute: bool = False,
    download_as: str = "",
    filename: str = "",
    staff: bool = False,
    hidden_checked: bool = False,
) -> str:
    """A URL for the stored file ``name`` that works for ``SIGNED_FILE_URL_MAX_AGE`` seconds.

    ``absolute`` prefixes ``PUBLIC_BASE_URL`` (for providers and emails); ``download_as`` asks the browser to save the
    file under that name instead of showing it. ``filename`` ends the URL's path with that name (cosmetic: the token
    decides), for providers that accept an image URL only when its path ends in ``.jpg``/``.png`` (HighwayAPI).
    ``staff`` marks a reviewer's URL: only such a URL serves a video hidden under moderation
    (``studio.moderation.visibility``); mint it only after checking the viewer is staff.
    ``hidden_checked``: the caller has just asked ``video_hidden_for`` about the job this file belongs to (with its
    case loaded) and got False, so the S3 branch skips ``stored_file_hidden``: the same answer, but one query per
    file, which made a page of library cards run three queries per card.
    """
    if not name:
        return ""
    if _uses_s3():
        # S3 serves presigned URLs without asking us, so a hidden video's URL is refused when it would be minted.
        if not staff and not hidden_checked:
            from studio.moderation.visibility import stored_file_hidden

            if stored_file_hidden(name):
                return ""
        params = {"ResponseContentDisposition": f'attachment; filename="{download_as}"'} if download_as else None
        return str(default_storage.url(name, parameters=params))  # type: ignore[call-arg]
    payload: dict[str, object] = {"n": name, "d": download_as}
    if staff:
        payload["s"] = 1
    token = signing.dumps(payload, salt=_SALT, compress=True)
    if filename:
        path = reverse("signed-file-named", kwargs={"token": token, "filename": filename})
    else:
        path = reverse("signed-file", kwargs={"token": token})
    return f"{settings.PUBLIC_BASE_URL}{path}" if absolute else path


def read_signed_token(token: str) -> tuple[str, str]:
    """Return (storage name, download name) for a valid, unexpired token; raise Http404 otherwise. A hidden video
    (under moderation review, or taken down) is served only on a staff token."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.SIGNED_FILE_URL_MAX_AGE)
    except signing.BadSignature:
        raise Http404("This link is invalid or has expired.") from None
    name = str(data["n"])
    if not data.get("s"):
        from studio.moderation.visibility import stored_file_hidden

        if stored_file_hidden(name):
            raise Http404("This video is under review.")
    return name, str(data.get("d") or "")


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Every real offset has fewer digits; more is malformed (5,000 nines once reached int() and answered 500).
_RANGE_MAX_DIGITS = 18
_CHUNK = 64 * 1024


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The one byte range of a ``Range: bytes=a-b`` header as (first, last), or None when it cannot be served;
    ValueError when the header is malformed beyond any real file (answered 400).

    Browsers seek in a video (and Safari plays MP4 at all) only with range requests; multi-range requests are rare
    enough to answer with the whole file.
    """
    match = _RANGE.match(header.strip())
    if not match or size == 0:
        return None
    first_text, last_text = match.groups()
    if max(len(first_text), len(last_text)) > _RANGE_MAX_DIGITS:
        raise ValueError(f"Range offsets have at most {_RANGE_MAX_DIGITS} digits.")
    if first_text == "":
        if last_text == "":
            return None
        length = int(last_text)
        return (max(0, size - length), size - 1) if length else None
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    return (first, last) if first <= last and first < size else None


def _iter_slice(handle: IO[bytes], first: int, last: int) -> Iterator[bytes]:
    try:
        handle.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


@require_GET
def serve_signed_file(request: HttpRequest, token: str, filename: str = "") -> HttpResponse | StreamingHttpResponse:
    name, download_as = read_signed_token(token)
    if not default_storage.exists(name):
        raise Http404("This file no longer exists.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    size = default_storage.size(name)
    requested = request.headers.get("Range", "")
    if requested:
        try:
            byte_range = _parse_range(requested, size)
        except ValueError as exc:
            return HttpResponse(f"Malformed Range header: {exc}", status=400, content_type="text/plain")
        if byte_range is None:
            refused = HttpResponse(status=416)
            refused["Content-Range"] = f"bytes */{size}"
            return refused
        first, last = byte_range
        partial = StreamingHttpResponse(
            _iter_slice(default_storage.open(name, "rb"), first, last), status=206, content_type=content_type
        )
        partial["Content-Range"] = f"bytes {first}-{last}/{size}"
        partial["Content-Length"] = str(last - first + 1)
        response: HttpResponse | StreamingHttpResponse = partial
    else:
        response = FileResponse(
            default_storage.open(name, "rb"),
            content_type=content_type,
            as_attachment=bool(download_as),
            filename=download_as,
        )
    if download_as and requested:
        response["Content-Disposition"] = f'attachment; filename="{download_as}"'
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
