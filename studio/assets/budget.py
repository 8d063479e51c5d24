"""Bounding the work image uploads can cause (issue 13 finding 1: twenty 40-megapixel PNGs in one request took 27 s
of decoding, four such requests at once made /healthz time out).

- A pixel budget per request (``ASSET_PIXEL_BUDGET_PER_REQUEST``) and per user over a rolling window
  (``ASSET_PIXEL_BUDGET_PER_USER`` per ``ASSET_PIXEL_BUDGET_WINDOW_SECONDS``), claimed from the header's dimensions
  before any pixel is decoded. Duplicates are recognised by hash before the claim, so they cost nothing.
- A bound on concurrent decodes per process (``ASSET_DECODE_CONCURRENCY``): a decode waits at most
  ``ASSET_DECODE_WAIT_SECONDS`` for a slot, then the file is refused as "busy", so the web process always has
  threads free for other requests (the production image runs gunicorn's threaded workers).

A refusal says which limit and what to do; the upload page answers 413 (this request's budget) or 429 (the user's
budget, or the decoder busy).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

from studio import windows


class BudgetExceeded(Exception):
    """The file would exceed a budget; ``http_status`` is 413 (request) or 429 (user, busy)."""

    def __init__(self, message: str, *, http_status: int) -> None:
        super().__init__(message)
        self.http_status = http_status


def _mp(pixels: int) -> str:
    return f"{pixels / 1e6:g} megapixels"


@dataclass
class PixelBudget:
    """One request's budget, and the user's rolling one behind it."""

    user_id: int
    used: int = 0

    def claim(self, *, pixels: int, filename: str) -> None:
        per_request = int(settings.ASSET_PIXEL_BUDGET_PER_REQUEST)
        if self.used + pixels > per_request:
            raise BudgetExceeded(
                f"{filename}: not processed; one upload may decode at most {_mp(per_request)} in all. "
                "Upload the remaining images in another batch.",
                http_status=413,
            )
        per_user = int(settings.ASSET_PIXEL_BUDGET_PER_USER)
        window = int(settings.ASSET_PIXEL_BUDGET_WINDOW_SECONDS)
        counted = windows.count(f"asset-pixels:{self.user_id}", pixels, seconds=window)
        if counted.total > per_user:
            windows.uncount(counted, pixels)
            raise BudgetExceeded(
                f"{filename}: not processed; you have uploaded {_mp(per_user)} of images in the last "
                f"{window // 60} minutes, the most allowed. Try again in a few minutes.",
                http_status=429,
            )
        self.used += pixels


class _Slots:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.size = 0
        self.semaphore: threading.BoundedSemaphore | None = None

    def get(self) -> threading.BoundedSemaphore:
        size = int(settings.ASSET_DECODE_CONCURRENCY)
        with self.lock:
            if self.semaphore is None or self.size != size:
                self.semaphore, self.size = threading.BoundedSemaphore(size), size
            return self.semaphore


_slots = _Slots()


@contextlib.contextmanager
def decode_slot(*, filename: str) -> Iterator[None]:
    """Hold one of the process's decode slots for the block, or raise ``BudgetExceeded`` (429) after waiting."""
    semaphore = _slots.get()
    if not semaphore.acquire(timeout=float(settings.ASSET_DECODE_WAIT_SECONDS)):
        raise BudgetExceeded(
            f"{filename}: not processed; the server is busy processing other images. Try again in a minute.",
            http_status=429,
        )
    try:
        yield
    finally:
        semaphore.release()
