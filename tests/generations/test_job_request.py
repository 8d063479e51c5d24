"""The ONE generation request (``generations.services.requests.JobRequest``): built from a job, from the composer's
form and from an API body, all to the same value; and the field list is written once."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from generations.forms import ComposerForm
from generations.models import GenerationJob
from generations.providers.base import Mode
from generations.services.jobs import generation_create, remix_initial
from generations.services.requests import JobRequest
from generations.validation import SpecValidationError
from tests.generations.helpers import make_asset

API_BODY = {
    "mode": "r2v",
    "prompt": "@cat plays in @park",
    "resolution": "540p",
    "duration": 3,
    "aspect_ratio": "4:3",
    "generate_audio_switch": True,
    "seed": 11,
    "negative_prompt": "blur",
    "provider": "pixverse",
}


def _api_body(pipeline) -> dict:
    return {
        **API_BODY,
        "references": [
            {"asset": pipeline.cat.pk, "ref_name": "cat", "type": "subject"},
            {"asset": pipeline.park.pk, "ref_name": "park", "type": "background"},
        ],
    }


def test_the_field_list_is_written_once() -> None:
    names = {f.name for f in dataclasses.fields(JobRequest)}
    assert set(JobRequest.SCALAR_FIELDS) == names - {"references"}
    columns = {f.name for f in GenerationJob._meta.get_fields()}
    assert set(JobRequest.SCALAR_FIELDS) - {"provider"} <= columns
    assert JobRequest.defaults()["resolution"] == "720p"


def test_api_form_and_job_build_the_same_request(pipeline) -> None:
    world = pipeline.world
    from_api = JobRequest.from_api(_api_body(pipeline), team_id=world.team.pk)
    # The prompt's trailing @mention gets its required space, as in the composer.
    assert from_api.prompt == "@cat plays in @park "
    form_data = {
        **{k: str(v) for k, v in API_BODY.items() if k != "generate_audio_switch"},
        "generate_audio_switch": "on",
        "ref_asset_1": str(pipeline.cat.pk),
        "ref_name_1": "cat",
        "ref_type_1": "subject",
        "ref_asset_2": str(pipeline.park.pk),
        "ref_name_2": "park",
        "ref_type_2": "background",
    }
    form = ComposerForm(form_data, team_id=world.team.pk)
    assert form.is_valid(), form.errors
    assert form.to_request() == from_api
    job = generation_create(user=world.member, project=world.project, request=from_api)
    assert JobRequest.from_job(job) == from_api
    spec = from_api.to_spec(job_id=job.pk)
    assert (spec.mode, spec.resolution, spec.aspect_ratio, spec.seed) == (Mode.REFERENCE_TO_VIDEO, "540p", "4:3", 11)
    assert [ref.ref_name for ref in spec.references] == ["cat", "park"]
    initial = remix_initial(job)
    assert initial["ref_asset_2"] == pipeline.park.pk and initial["parent"] == str(job.pk)
    assert ComposerForm(initial, team_id=world.team.pk).fields["prompt"] is not None


def test_api_i2v_takes_an_image_id(pipeline) -> None:
    request = JobRequest.from_api(
        {"mode": "i2v", "prompt": "the cat blinks", "image": pipeline.cat.pk}, team_id=pipeline.world.team.pk
    )
    assert request.references[0].asset == pipeline.cat
    assert request.aspect_ratio == ""
    assert request.to_spec(job_id=uuid.uuid4()).image is not None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"duration": "5"}, "duration"),
        ({"duration": True}, "duration"),
        ({"seed": 1.5}, "seed"),
        ({"generate_audio_switch": "yes"}, "generate_audio_switch"),
        ({"prompt": None}, "prompt"),
        ({"colour": "red"}, "colour"),
        ({"references": "cat"}, "references"),
        ({"references": [{"asset": "1"}]}, "references"),
    ],
)
def test_api_bad_types_are_refused_by_field(pipeline, change: dict, field: str) -> None:
    with pytest.raises(SpecValidationError) as caught:
        JobRequest.from_api({**_api_body(pipeline), **change}, team_id=pipeline.world.team.pk)
    assert field in caught.value.errors


def test_api_another_teams_asset_is_not_found(pipeline) -> None:
    foreign = make_asset(pipeline.world.outsider_team, ref_name="cat")
    body = {**_api_body(pipeline), "references": [{"asset": foreign.pk, "ref_name": "cat", "type": "subject"}]}
    with pytest.raises(SpecValidationError) as caught:
        JobRequest.from_api(body, team_id=pipeline.world.team.pk)
    assert "not found" in caught.value.errors["references"][0]


def test_api_body_must_be_an_object(pipeline) -> None:
    with pytest.raises(SpecValidationError):
        JobRequest.from_api(["mode"], team_id=pipeline.world.team.pk)  # type: ignore[arg-type]
