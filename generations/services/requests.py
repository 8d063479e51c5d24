"""THE generation request: one field list, built from a job, from the composer form, or from an API body.

``JobRequest`` is what a user asks for (DESIGN.md §6 names). Everything that used to spell the fields out again reads
them from here:

- constructors: ``JobRequest.from_job(job)`` (re-run, remix, submit), ``JobRequest.from_form(cleaned_data)`` (the
  composer's ``ComposerForm.to_request``) and ``JobRequest.from_api(data, team_id=...)`` (a JSON body: assets by id,
  wrong types refused with a ``SpecValidationError`` keyed by field, like every other rule);
- conversions: ``to_spec`` (the adapters' ``JobSpec``), ``job_fields`` (the ``GenerationJob`` columns) and
  ``composer_initial`` (the composer's initial data for a remix).

So a new option is one field here (plus its column and its adapter handling). Validation of the values themselves
stays in ``generations.validation`` (run by ``generation_preview``/``generation_create``).

For an API schema: the scalar fields are ``JobRequest.SCALAR_FIELDS`` (name → Python type, defaults in
``JobRequest.defaults()``); references are ``[{"asset": <id>, "ref_name": str, "type": "subject"|"background"}]``,
and image-to-video takes ``"image": <asset id>`` instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast
from uuid import UUID

from generations.models import AUTO
from generations.providers.base import ImageInput, JobSpec, Mode, Reference, ReferenceType
from generations.services.specs import ReferenceInput, image_input, job_references, webhook_url_for
from generations.validation import SpecValidationError, normalize_prompt

if TYPE_CHECKING:
    from generations.models import GenerationJob


@dataclass(frozen=True)
class JobRequest:
    """What the composer (or the API) asks for. The one field list of a generation request (module docstring)."""

    mode: str
    prompt: str = ""
    resolution: str = "720p"
    duration: int = 5
    aspect_ratio: str = ""
    generate_audio_switch: bool = False
    seed: int | None = None
    negative_prompt: str = ""
    references: tuple[ReferenceInput, ...] = ()
    provider: str = AUTO

    #: The plain-value fields and their types: stored as-is on the job, sent as-is in an API body.
    SCALAR_FIELDS: ClassVar[dict[str, tuple[type, ...]]] = {
        "mode": (str,),
        "prompt": (str,),
        "resolution": (str,),
        "duration": (int,),
        "aspect_ratio": (str,),
        "generate_audio_switch": (bool,),
        "seed": (int, type(None)),
        "negative_prompt": (str,),
        "provider": (str,),
    }

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Each optional field's default (for forms and API schemas)."""
        return {
            f.name: f.default
            for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING and f.name != "references"
        }

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_job(cls, job: GenerationJob, **overrides: Any) -> JobRequest:
        """The request that made ``job`` (re-run, remix, submit); raises ``MissingInput`` if an input was deleted."""
        values: dict[str, Any] = {name: getattr(job, name) for name in cls.SCALAR_FIELDS if name != "provider"}
        values["provider"] = job.provider_requested
        if "references" not in overrides:  # a remix passes the inputs still there; job_references refuses gaps
            values["references"] = tuple(job_references(job))
        values.update(overrides)
        return cls(**values)

    @classmethod
    def from_form(cls, data: Mapping[str, Any], *, references: Sequence[ReferenceInput]) -> JobRequest:
        """From the composer's cleaned data (``references`` already picked from its asset fields)."""
        values = {name: data[name] for name in cls.SCALAR_FIELDS if name in data}
        mode = str(values.get("mode") or "")
        values["generate_audio_switch"] = bool(values.get("generate_audio_switch"))
        values["negative_prompt"] = values.get("negative_prompt") or ""
        values["prompt"] = normalize_prompt(values.get("prompt") or "")
        values["aspect_ratio"] = "" if mode == Mode.IMAGE_TO_VIDEO else (values.get("aspect_ratio") or "16:9")
        return cls(**values, references=tuple(references))

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, team_id: int) -> JobRequest:
        """From a JSON body. Unknown keys and wrong types raise ``SpecValidationError`` (nothing is looked up but the
        team's own assets: an id of another team's asset is "not found", never disclosed)."""
        from studio.assets.models import Asset

        if not isinstance(data, Mapping):
            raise SpecValidationError({"body": ["The request body must be a JSON object."]})
        errors: dict[str, list[str]] = {}
        known = {*cls.SCALAR_FIELDS, "references", "image"}
        for key in sorted(set(data) - known):
            errors.setdefault(str(key)[:50], []).append(f"Unknown field; expected one of {', '.join(sorted(known))}.")
        values: dict[str, Any] = {}
        for name, types in cls.SCALAR_FIELDS.items():
            if name not in data:
                continue
            value = data[name]
            # bool is an int in Python: a JSON true is not a duration or a seed.
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
                errors.setdefault(name, []).append(f"Must be {wanted}.")
                continue
            values[name] = value
        if "mode" not in data:
            errors.setdefault("mode", []).append("Required: one of i2v, r2v, t2v.")
        wanted_refs = _api_references(data, errors)
        assets = {a.pk: a for a in Asset.objects.filter(team_id=team_id, pk__in=[pk for pk, _, _ in wanted_refs])}
        references: list[ReferenceInput] = []
        for pk, ref_name, ref_type in wanted_refs:
            asset = assets.get(pk)
            if asset is None:
                errors.setdefault("references", []).append(f"Asset {pk} was not found in this team's library.")
                continue
            references.append(ReferenceInput(asset=asset, ref_name=ref_name or asset.ref_name, type=ref_type))
        if errors:
            raise SpecValidationError(errors)
        if values.get("mode") == Mode.IMAGE_TO_VIDEO:
            values.setdefault("aspect_ratio", "")
        values["prompt"] = normalize_prompt(values.get("prompt", ""))
        return cls(**values, references=tuple(references))

    # ------------------------------------------------------------------ conversions

    def to_spec(self, *, job_id: UUID, with_content: bool = False, webhook_url: str = "") -> JobSpec:
        """The adapters' ``JobSpec``. i2v uses ``references[0]`` as its image."""
        spec_mode = Mode(self.mode)
        image: ImageInput | None = None
        refs: tuple[Reference, ...] = ()
        if spec_mode == Mode.IMAGE_TO_VIDEO and self.references:
            image = image_input(self.references[0].asset, with_content=with_content)
        elif spec_mode == Mode.REFERENCE_TO_VIDEO:
            refs = tuple(
                Reference(
                    ref_name=ref.ref_name,
                    type=cast(ReferenceType, ref.type),
                    image=image_input(ref.asset, with_content=with_content),
                )
                for ref in self.references
            )
        return JobSpec(
            job_id=job_id,
            mode=spec_mode,
            prompt=self.prompt,
            resolution=self.resolution,
            duration=self.duration,
            aspect_ratio=(self.aspect_ratio or None) if spec_mode != Mode.IMAGE_TO_VIDEO else None,
            generate_audio_switch=self.generate_audio_switch,
            seed=self.seed,
            negative_prompt=self.negative_prompt,
            image=image,
            references=refs,
            webhook_url=webhook_url,
        )

    def job_fields(self) -> dict[str, Any]:
        """The ``GenerationJob`` columns this request sets (``provider`` is stored as ``provider_requested``)."""
        values = {name: getattr(self, name) for name in self.SCALAR_FIELDS if name != "provider"}
        if self.mode == Mode.IMAGE_TO_VIDEO:
            values["aspect_ratio"] = ""
        values["provider_requested"] = self.provider
        return values

    def composer_initial(self) -> dict[str, Any]:
        """The composer's initial data for this request (its field names: ``image``, ``ref_asset_N``, ...)."""
        data: dict[str, Any] = {name: getattr(self, name) for name in self.SCALAR_FIELDS}
        if self.mode == Mode.IMAGE_TO_VIDEO and self.references:
            data["image"] = self.references[0].asset.pk
        for index, ref in enumerate(self.references, start=1):
            data[f"ref_asset_{index}"] = ref.asset.pk
            data[f"ref_name_{index}"] = ref.ref_name
            data[f"ref_type_{index}"] = ref.type
        return data


def _api_references(data: Mapping[str, Any], errors: dict[str, list[str]]) -> list[tuple[int, str, str]]:
    """``(asset id, ref_name, type)`` from an API body's ``image`` (i2v) or ``references`` (r2v)."""
    wanted: list[tuple[int, str, str]] = []
    image = data.get("image")
    if image is not None:
        if isinstance(image, bool) or not isinstance(image, int):
            errors.setdefault("image", []).append("Must be an asset id (integer).")
        else:
            wanted.append((image, "", "subject"))
    raw = data.get("references", [])
    if not isinstance(raw, list):
        errors.setdefault("references", []).append("Must be a list of {asset, ref_name, type} objects.")
        return wanted
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            errors.setdefault("references", []).append(f"Reference {position} must be an object.")
            continue
        asset, ref_name, ref_type = item.get("asset"), item.get("ref_name", ""), item.get("type", "subject")
        if isinstance(asset, bool) or not isinstance(asset, int):
            errors.setdefault("references", []).append(f"Reference {position}: asset must be an asset id (integer).")
        elif not isinstance(ref_name, str) or not isinstance(ref_type, str):
            errors.setdefault("references", []).append(f"Reference {position}: ref_name and type must be text.")
        else:
            wanted.append((asset, ref_name, ref_type))
    return wanted


def spec_for_job(job: GenerationJob, *, with_content: bool = False) -> JobSpec:
    """The JobSpec to submit for ``job`` (raises ``MissingInput`` when an input image is gone)."""
    from generations.providers.registry import adapter_class

    webhook = ""
    if job.provider and adapter_class(job.provider).capabilities.webhooks:
        webhook = webhook_url_for(job.provider)
    return JobRequest.from_job(job).to_spec(job_id=job.pk, with_content=with_content, webhook_url=webhook)
