"""The pieces a ``JobRequest`` (``generations.services.requests``) is built from: chosen assets and their inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from generations.providers.base import ImageInput
from studio.files import signed_url

if TYPE_CHECKING:
    from generations.models import GenerationJob
    from studio.assets.models import Asset


class MissingInput(Exception):
    """An input image of the job no longer exists (asset deleted or file missing). The message is user-facing."""


@dataclass(frozen=True)
class ReferenceInput:
    """One chosen asset: for i2v the single image; for r2v a named reference (``ref_name``, ``type``)."""

    asset: Asset
    ref_name: str = ""
    type: str = "subject"


def image_input(asset: Asset, *, with_content: bool) -> ImageInput:
    """The asset as an adapter input: a signed public URL, plus its bytes for providers that upload them."""
    content: bytes | None = None
    if with_content:
        try:
            with asset.file.open("rb") as handle:
                content = handle.read()
        except (FileNotFoundError, ValueError, OSError) as exc:
            raise MissingInput(f"The image {asset.name!r} is no longer available; pick another one.") from exc
    extension = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(asset.format, "png")
    filename = f"{asset.ref_name or 'image'}.{extension}"
    return ImageInput(
        sha256=asset.sha256,
        # The URL's path ends in the file name: some providers judge an image by its URL's ending (HighwayAPI).
        url=signed_url(asset.file.name or "", absolute=True, filename=filename),
        content=content,
        filename=filename,
        content_type=asset.content_type,
    )


def job_references(job: GenerationJob) -> list[ReferenceInput]:
    result = []
    for ref in job.references.select_related("asset").order_by("order"):
        if ref.asset is None:
            raise MissingInput(f"The reference @{ref.ref_name} was deleted from the asset library.")
        result.append(ReferenceInput(asset=ref.asset, ref_name=ref.ref_name, type=ref.type))
    return result


def webhook_url_for(provider: str) -> str:
    """Our inbound webhook URL for ``provider``, or "" when webhooks are off for it (no secret to verify with)."""
    config = settings.PROVIDERS.get(provider, {})
    if not config.get("WEBHOOK_SECRET"):
        return ""
    return settings.PUBLIC_BASE_URL + reverse("generations:webhook", kwargs={"provider": provider})
