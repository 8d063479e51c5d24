"""JobSpec ⇄ job: the one place that turns a job row (or composer input) into the adapters' ``JobSpec``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from uuid import UUID

from django.conf import settings
from django.urls import reverse

from generations.providers.base import ImageInput, JobSpec, Mode, Reference, ReferenceType
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


def build_spec(
    *,
    job_id: UUID,
    mode: str,
    prompt: str,
    resolution: str,
    duration: int,
    aspect_ratio: str,
    generate_audio_switch: bool,
    seed: int | None,
    negative_prompt: str,
    references: Sequence[ReferenceInput],
    with_content: bool = False,
    webhook_url: str = "",
) -> JobSpec:
    """A JobSpec from composer-level values. i2v uses ``references[0]`` as its image."""
    spec_mode = Mode(mode)
    image: ImageInput | None = None
    refs: tuple[Reference, ...] = ()
    if spec_mode == Mode.IMAGE_TO_VIDEO and references:
        image = image_input(references[0].asset, with_content=with_content)
    elif spec_mode == Mode.REFERENCE_TO_VIDEO:
        refs = tuple(
            Reference(
                ref_name=ref.ref_name,
                type=cast(ReferenceType, ref.type),
                image=image_input(ref.asset, with_content=with_content),
            )
            for ref in references
        )
    return JobSpec(
        job_id=job_id,
        mode=spec_mode,
        prompt=prompt,
        resolution=resolution,
        duration=duration,
        aspect_ratio=(aspect_ratio or None) if spec_mode != Mode.IMAGE_TO_VIDEO else None,
        generate_audio_switch=generate_audio_switch,
        seed=seed,
        negative_prompt=negative_prompt,
        image=image,
        references=refs,
        webhook_url=webhook_url,
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


def spec_for_job(job: GenerationJob, *, with_content: bool = False) -> JobSpec:
    """The JobSpec to submit for ``job`` (raises ``MissingInput`` when an input image is gone)."""
    from generations.providers.registry import adapter_class

    webhook = ""
    if job.provider and adapter_class(job.provider).capabilities.webhooks:
        webhook = webhook_url_for(job.provider)
    return build_spec(
        job_id=job.pk,
        mode=job.mode,
        prompt=job.prompt,
        resolution=job.resolution,
        duration=job.duration,
        aspect_ratio=job.aspect_ratio,
        generate_audio_switch=job.generate_audio_switch,
        seed=job.seed,
        negative_prompt=job.negative_prompt,
        references=job_references(job),
        with_content=with_content,
        webhook_url=webhook,
    )
