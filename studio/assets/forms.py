from __future__ import annotations

from typing import Any, cast

from django import forms

from studio.assets.models import Asset, ReferenceType
from studio.assets.services import AssetError, parse_tags
from studio.projects.models import Project
from studio.teams.models import Team


class _TeamProjectsMixin:
    fields: dict[str, forms.Field]

    def _limit_projects(self, team: Team) -> None:
        field = cast(forms.ModelChoiceField, self.fields["project"])  # type: ignore[type-arg]
        field.queryset = Project.objects.filter(team=team, archived_at__isnull=True).order_by("name")


class TagsField(forms.CharField):
    def clean(self, value: Any) -> list[str]:
        text = super().clean(value) or ""
        try:
            return parse_tags(text)
        except AssetError as exc:
            raise forms.ValidationError(str(exc)) from None


class UploadForm(_TeamProjectsMixin, forms.Form):
    """The non-file fields of the upload page; the files are read from ``request.FILES.getlist("files")``."""

    project = forms.ModelChoiceField(
        queryset=Project.objects.none(), required=False, empty_label="No project (team-wide)"
    )
    default_type = forms.ChoiceField(choices=ReferenceType.choices, initial=ReferenceType.SUBJECT, required=False)
    tags = TagsField(required=False, help_text="Comma-separated, applied to every file, e.g. product, red.")

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_projects(team)

    def clean_default_type(self) -> str:
        return str(self.cleaned_data.get("default_type") or ReferenceType.SUBJECT)


class AssetEditForm(_TeamProjectsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    ref_name = forms.CharField(
        max_length=30,
        help_text="How prompts mention this asset: @ref_name. Letters, digits and underscores, at most 30.",
    )
    default_type = forms.ChoiceField(choices=ReferenceType.choices)
    project = forms.ModelChoiceField(
        queryset=Project.objects.none(), required=False, empty_label="No project (team-wide)"
    )
    tags = TagsField(required=False, help_text="Comma-separated.")

    def __init__(self, *args: Any, asset: Asset, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "name": asset.name,
                "ref_name": asset.ref_name,
                "default_type": asset.default_type,
                "project": asset.project_id,
                "tags": ", ".join(tag.name for tag in asset.tags.all()),
            },
        )
        super().__init__(*args, **kwargs)
        self._limit_projects(asset.team)
