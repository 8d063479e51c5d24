"""Private files: every URL we hand out for a stored file is signed and expires.

Access is decided *before* a URL is minted (through ``studio.teams.access``); the URL itself is then a short-lived
capability, which is also what lets a provider fetch a reference image from ``PUBLIC_BASE_URL``. With S3 the storage
presigns its own URLs; with local storage ``serve_signed_file`` checks our signature and streams the file.
"""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.views.decorators.http import require_GET

_SALT = "studio.files.signed"


def _uses_s3() -> bool:
    return bool(settings.AWS_STORAGE_BUCKET_NAME)


def signed_url(name: str, *, absolute: bool = False, download_as: str = "") -> str:
    """A URL for the stored file ``name`` that works for ``SIGNED_FILE_URL_MAX_AGE`` seconds.

    ``absolute`` prefixes ``PUBLIC_BASE_URL`` (for providers and emails); ``download_as`` asks the browser to save the
    file under that name instead of showing it.
    """
    if not name:
        return ""
    if _uses_s3():
        params = {"ResponseContentDisposition": f'attachment; filename="{download_as}"'} if download_as else None
        return str(default_storage.url(name, parameters=params))  # type: ignore[call-arg]
    token = signing.dumps({"n": name, "d": download_as}, salt=_SALT, compress=True)
    path = reverse("signed-file", kwargs={"token": token})
    return f"{settings.PUBLIC_BASE_URL}{path}" if absolute else path


def read_signed_token(token: str) -> tuple[str, str]:
    """Return (storage name, download name) for a valid, unexpired token; raise Http404 otherwise."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.SIGNED_FILE_URL_MAX_AGE)
    except signing.BadSignature:
        raise Http404("This link is invalid or has expired.") from None
    return str(data["n"]), str(data.get("d") or "")


@require_GET
def serve_signed_file(request: HttpRequest, token: str) -> FileResponse:
    name, download_as = read_signed_token(token)
    if not default_storage.exists(name):
        raise Http404("This file no longer exists.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(
        default_storage.open(name, "rb"),
        content_type=content_type,
        as_attachment=bool(download_as),
        filename=download_as,
    )
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
