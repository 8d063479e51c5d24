"""Cached provider uploads: an image is uploaded to a provider account once, and the handle reused.

PixVerse takes images only as an ``img_id`` from its own ``/image/upload`` (providers.md §1, "cacheable per account"
[I]). The handle is cached in the shared cache (Redis in production) under (provider, account, image SHA-256): the
SHA-256 is the asset's identity (assets are de-duplicated per team by it), so this is one upload per asset and
provider account, whichever worker submits. The API key never appears in the key, only a fingerprint.

Invariants:
- A cached handle is only ever used for the account that uploaded it.
- A handle the provider no longer knows costs at most one refused, non-billable create: the adapter forgets the
  handles it took from the cache and raises ``TransientError``, so the pipeline re-queues and the next attempt uploads
  afresh (``forget``). Eviction or an unreachable cache only means uploading again (uploads are free).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from generations.providers.budget import account_fingerprint

logger = logging.getLogger("generations.providers.uploads")

#: How long an uploaded handle is trusted. PixVerse documents no lifetime for img_id [I]; a day keeps re-uploads rare
#: while bounding how long a stale handle could linger.
HANDLE_TTL_SECONDS = 24 * 3600


def _key(provider: str, api_key: str, sha256: str) -> str:
    return f"providers:upload:{provider}:{account_fingerprint(api_key)}:{sha256}"


def cached_handle(*, provider: str, api_key: str, sha256: str) -> str | None:
    """The cached handle of this image on this account, or None."""
    from django.core.cache import cache

    if not sha256:
        return None
    try:
        value = cache.get(_key(provider, api_key, sha256))
    except Exception:
        logger.warning("upload cache unavailable for %s; uploading again", provider, exc_info=True)
        return None
    return value if isinstance(value, str) and value else None


def remember(*, provider: str, api_key: str, sha256: str, handle: str) -> None:
    from django.core.cache import cache

    if not sha256 or not handle:
        return
    try:
        cache.set(_key(provider, api_key, sha256), handle, timeout=HANDLE_TTL_SECONDS)
    except Exception:
        logger.warning("upload cache unavailable for %s; handle not kept", provider, exc_info=True)


def forget(*, provider: str, api_key: str, sha256: str) -> None:
    from django.core.cache import cache

    try:
        cache.delete(_key(provider, api_key, sha256))
    except Exception:
        logger.warning("upload cache unavailable for %s; could not forget a handle", provider, exc_info=True)


def upload_once(*, provider: str, api_key: str, sha256: str, upload: Callable[[], str]) -> tuple[str, bool]:
    """``(handle, from_cache)``: the cached handle, or the result of ``upload()`` (then cached)."""
    handle = cached_handle(provider=provider, api_key=api_key, sha256=sha256)
    if handle is not None:
        return handle, True
    handle = upload()
    remember(provider=provider, api_key=api_key, sha256=sha256, handle=handle)
    return handle, False
