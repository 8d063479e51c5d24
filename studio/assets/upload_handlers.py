"""Refuse oversized uploaded files while they stream in, before the whole body is buffered.

Django's upload handlers see each file chunk by chunk. This handler sits first: it counts the bytes of each file and,
past ``ASSET_MAX_BYTES``, skips the rest of that file (``SkipFile``) and records the rejection on the request, so the
view can name the file and the limit. The bytes already received go nowhere: the later temporary-file handler never
gets a skipped file.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class SizeLimitedUploadHandler(FileUploadHandler):
    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit: int = settings.ASSET_MAX_BYTES
        self.received = 0
        if request is not None and not hasattr(request, "upload_rejections"):
            request.upload_rejections = []

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            if self.request is not None:
                rejections: list[tuple[str, int]] = self.request.upload_rejections  # type: ignore[attr-defined]
                rejections.append((self.file_name or "file", self.limit))
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
