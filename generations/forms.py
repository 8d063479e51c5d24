"""The composer form. It only collects input: the rules live in ``generations.validation`` (via the services)."""

from __future__ import annotations

from typing import Any

from django import forms

from generations.models import AUTO, ModeChoice
from generations.providers.base import ASPECT_RATIOS, MAX_DURATION, MAX_REFERENCES, MIN_DURATION, RESOLUTIONS, SEED_MAX
from generations.providers.registry import provider_choices
from generations.services.requests import JobRequest
from generations.services.specs import ReferenceInput
from generations.validation import SpecValidationError
from studio.assets.models import Asset

REFERENCE_SLOTS = range(1, MAX_REFERENCES + 1)
TYPE_CHOICES = [("subject", "Subject"), ("background", "Background")]


class ComposerForm(forms.Form):
    mode = forms.ChoiceField(choices=ModeChoice.choices, initial=ModeChoice.IMAGE_TO_VIDEO, widget=forms.RadioSelect)
    prompt = forms.CharField(
        required=False,
        max_length=2048,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Reference-to-video: name each reference as @ref_name followed by a space.",
    )
    negative_prompt = forms.CharField(required=False, max_length=2048, widget=forms.Textarea(attrs={"rows": 2}))
    image = forms.ModelChoiceField(
        queryset=Asset.objects.none(),
        required=False,
        empty_label="Choose an image…",
        help_text="Image-to-video: the picture to animate.",
    )
    resolution = forms.ChoiceField(choices=[(r, r) for r in RESOLUTIONS], initial="720p")
    duration = forms.IntegerField(min_value=MIN_DURATION, max_value=MAX_DURATION, initial=5, help_text="Seconds.")
    aspect_ratio = forms.ChoiceField(
        choices=[(r, r) for r in ASPECT_RATIOS],
        initial="16:9",
        required=False,
        help_text="Ignored for image-to-video (the video follows the image).",
    )
    generate_audio_switch = forms.BooleanField(required=False, label="Generate audio (costs more)")
    seed = forms.IntegerField(required=False, min_value=0, max_value=SEED_MAX, help_text="Empty for a random seed.")
    provider = forms.ChoiceField(initial=AUTO)
    parent = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, team_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assets = Asset.objects.filter(team_id=team_id).order_by("name")
        self.fields["image"].queryset = assets  # type: ignore[attr-defined]
        self.fields["provider"].choices = [  # type: ignore[attr-defined]
            (AUTO, "Auto (cheapest healthy provider)"),
            *provider_choices(enabled_only=True),
        ]
        for slot in REFERENCE_SLOTS:
            self.fields[f"ref_asset_{slot}"] = forms.ModelChoiceField(
                queryset=assets, required=False, label=f"Reference {slot}", empty_label="Choose an asset…"
            )
            self.fields[f"ref_name_{slot}"] = forms.CharField(required=False, max_length=30, label="@ref_name")
            self.fields[f"ref_type_{slot}"] = forms.ChoiceField(
                choices=TYPE_CHOICES, required=False, initial="subject", label="Type"
            )

    def reference_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [(self[f"ref_asset_{s}"], self[f"ref_name_{s}"], self[f"ref_type_{s}"]) for s in REFERENCE_SLOTS]

    def to_request(self) -> JobRequest:
        data = self.cleaned_data
        mode = data["mode"]
        references: list[ReferenceInput] = []
        if mode == ModeChoice.IMAGE_TO_VIDEO and data.get("image"):
            asset = data["image"]
            references.append(ReferenceInput(asset=asset, ref_name=asset.ref_name))
        elif mode == ModeChoice.REFERENCE_TO_VIDEO:
            for slot in REFERENCE_SLOTS:
                asset = data.get(f"ref_asset_{slot}")
                if asset is None:
                    continue
                references.append(
                    ReferenceInput(
                        asset=asset,
                        ref_name=(data.get(f"ref_name_{slot}") or asset.ref_name).strip(),
                        type=data.get(f"ref_type_{slot}") or "subject",
                    )
                )
        return JobRequest.from_form(data, references=references)

    def add_spec_errors(self, error: SpecValidationError) -> None:
        """Attach the validation module's messages to the matching fields (the rest to the form)."""
        aliases = {"references": "ref_asset_1" if self.data.get("mode") == "r2v" else "image"}
        for field, messages in error.errors.items():
            target = aliases.get(field, field)
            for message in messages:
                self.add_error(target if target in self.fields else None, message)
