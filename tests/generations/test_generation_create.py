"""Creating a job: validate → route → quote → hold, all or nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from billing.models import Hold
from generations.models import GenerationEvent, GenerationJob
from generations.providers.base import Mode
from generations.services.jobs import GenerationRefused, generation_create, generation_preview
from generations.services.specs import ReferenceInput
from generations.states import State
from generations.validation import SpecValidationError
from tests.generations.helpers import balance, make_asset
from tests.generations.test_generation_lifecycle import request_for


def test_bad_input_changes_nothing(pipeline):
    world = pipeline.world
    before = balance(world.member, world.team)
    bad = request_for(pipeline, Mode.REFERENCE_TO_VIDEO, "wavespeed", prompt="@dog runs")
    with pytest.raises(SpecValidationError) as excinfo:
        generation_create(user=world.member, project=world.project, request=bad)
    assert "prompt" in excinfo.value.errors
    assert GenerationJob.objects.count() == 0
    assert Hold.objects.count() == 0
    assert balance(world.member, world.team) == before


def test_option_the_pinned_provider_lacks_is_a_field_error(pipeline):
    world = pipeline.world
    request = request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed", seed=42)
    with pytest.raises(SpecValidationError) as excinfo:
        generation_create(user=world.member, project=world.project, request=request)
    assert "seed" in excinfo.value.errors


def test_too_few_credits_is_a_clear_refusal_and_changes_nothing(pipeline):
    world = pipeline.world
    request = request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed", resolution="1080p", duration=15)
    from billing.wallets import wallet_for_spending

    wallet = wallet_for_spending(user=world.viewer, team=world.team)
    assert wallet.balance == 0
    # The viewer may not generate at all; the member with an empty wallet gets a credit message.
    with pytest.raises(PermissionDenied):
        generation_create(user=world.viewer, project=world.project, request=request)
    from billing import ledger

    member_wallet = wallet_for_spending(user=world.member, team=world.team)
    ledger.adjust(wallet=member_wallet, amount=-(member_wallet.balance - 10), reason="test", created_by=None)
    with pytest.raises(GenerationRefused, match="credits"):
        generation_create(user=world.member, project=world.project, request=request)
    assert GenerationJob.objects.count() == 0
    assert balance(world.member, world.team) == 10


def test_outsider_cannot_create_in_another_teams_project(pipeline):
    with pytest.raises(Http404):
        generation_create(
            user=pipeline.world.outsider,
            project=pipeline.world.project,
            request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed"),
        )


def test_assets_of_another_team_are_refused(pipeline):
    world = pipeline.world
    foreign = make_asset(world.outsider_team, ref_name="secret")
    request = request_for(pipeline, Mode.IMAGE_TO_VIDEO, "wavespeed", references=(ReferenceInput(asset=foreign),))
    with pytest.raises(SpecValidationError):
        generation_create(user=world.member, project=world.project, request=request)


def test_created_job_holds_the_quote_and_records_the_queue_event(pipeline):
    world = pipeline.world
    request = request_for(pipeline, Mode.TEXT_TO_VIDEO, "auto")
    preview = generation_preview(user=world.member, project=world.project, request=request)
    job = generation_create(user=world.member, project=world.project, request=request)
    assert job.state == State.QUEUED
    assert job.hold.amount == preview.quote.credits == job.quoted_credits
    assert job.hold.key == str(job.pk)
    assert job.rate_card_version == preview.quote.rate_card_version
    assert job.provider == preview.decision.provider and job.routing_reason
    event = GenerationEvent.objects.get(job=job)
    assert (event.from_state, event.to_state, event.actor_id) == (State.DRAFT, State.QUEUED, world.member.pk)
    assert [w.task for w in pipeline.worker.queue] == ["dispatch_queued"]
