"""Cancel (before submit, DashScope while pending, otherwise cancel-requested), retry-as-new-job, remix."""

from __future__ import annotations

from billing.models import HoldState
from generations.providers.base import Mode
from generations.services.jobs import generation_cancel, generation_create, generation_retry, remix_initial
from generations.states import State
from tests.generations.helpers import accepted_for, balance
from tests.generations.test_generation_lifecycle import request_for


def new_job(pipeline, provider="wavespeed", mode=Mode.TEXT_TO_VIDEO, **overrides):
    return generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, mode, provider, **overrides),
    )


def test_cancel_before_submit_is_immediate_and_releases(pipeline):
    before = balance(pipeline.world.member, pipeline.world.team)
    job = new_job(pipeline)
    message = generation_cancel(user=pipeline.world.member, job=job)
    assert "returned" in message
    job.refresh_from_db()
    assert job.state == State.CANCELED
    assert job.hold.state == HoldState.RELEASED
    assert balance(pipeline.world.member, pipeline.world.team) == before
    pipeline.worker.drain()
    assert accepted_for(pipeline.emulator, job) == 0


def test_dashscope_pending_job_is_canceled_at_the_provider(pipeline):
    pipeline.emulator.control("POST", "config", json={"queue_seconds": 1000})
    job = new_job(pipeline, "dashscope", Mode.IMAGE_TO_VIDEO)
    pipeline.worker.drain(until=lambda: job.__class__.objects.get(pk=job.pk).state == State.SUBMITTED)
    job.refresh_from_db()
    assert job.state == State.SUBMITTED
    message = generation_cancel(user=pipeline.world.member, job=job)
    job.refresh_from_db()
    assert job.state == State.CANCELED, message
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.RELEASED
    assert job.attempts.filter(path__endswith="/cancel").exists()


def test_cancel_after_submit_discards_the_output_and_charges(pipeline):
    job = new_job(pipeline, "wavespeed")
    pipeline.worker.drain(until=lambda: job.__class__.objects.get(pk=job.pk).state == State.SUBMITTED)
    message = generation_cancel(user=pipeline.world.member, job=job)
    assert "charge" in message
    pipeline.worker.settle(job)
    assert job.state == State.CANCELED
    assert not job.output
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.CAPTURED
    assert job.charged_credits == job.quoted_credits


def test_cancel_of_a_finished_job_changes_nothing(pipeline):
    job = new_job(pipeline)
    pipeline.worker.settle(job)
    assert generation_cancel(user=pipeline.world.member, job=job) == "This job has already finished."
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED and not job.cancel_requested


def test_retry_is_a_new_job_with_lineage_and_its_own_hold(pipeline):
    job = new_job(pipeline, prompt="a storm #fail")
    pipeline.worker.settle(job)
    assert job.state == State.FAILED
    again = generation_retry(user=pipeline.world.owner, job=job)
    assert again.pk != job.pk
    assert (again.parent_id, again.lineage, again.creator_id) == (job.pk, "retry", pipeline.world.owner.pk)
    assert again.hold_id != job.hold_id
    assert again.prompt == job.prompt


def test_remix_prefills_the_composer(pipeline):
    job = new_job(
        pipeline,
        "pixverse",
        Mode.REFERENCE_TO_VIDEO,
        seed=7,
        negative_prompt="blur",
    )
    initial = remix_initial(job)
    assert initial["mode"] == "r2v" and initial["seed"] == 7 and initial["negative_prompt"] == "blur"
    assert initial["parent"] == str(job.pk)
    assert (initial["ref_asset_1"], initial["ref_name_1"], initial["ref_type_1"]) == (pipeline.cat.pk, "cat", "subject")
    assert (initial["ref_asset_2"], initial["ref_name_2"], initial["ref_type_2"]) == (
        pipeline.park.pk,
        "park",
        "background",
    )
