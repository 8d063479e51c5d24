"""PixVerse 500043/500090 (our provider account has no credits): permanent for that account (providers.md §10).

Under ``auto`` the job fails over once (never retried at PixVerse) and staff are alerted; pinned to PixVerse it fails
with a clear message and its hold is released.
"""

from __future__ import annotations

from billing.models import Hold, HoldState
from generations import routing
from generations.models import AUTO
from generations.providers.base import Mode
from generations.services.jobs import generation_create
from generations.states import State
from studio.notifications.models import Notification
from tests.generations.helpers import accepted_for, balance, creates_for
from tests.generations.test_generation_lifecycle import request_for


def _staff(world):
    world.owner.is_staff = True
    world.owner.save(update_fields=["is_staff"])
    return world.owner


def test_500043_under_auto_fails_over_once_and_alerts_staff(pipeline):
    staff = _staff(pipeline.world)
    pipeline.emulator.arm(provider="pixverse", fault="nocredits", on="create", times=5)
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, AUTO),
    )
    assert job.provider == "pixverse"
    pipeline.worker.settle(job)
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    assert job.provider != "pixverse"
    assert job.providers_refused == ["pixverse"]
    assert "500043" in job.routing_reason
    # Two creates in all for this job: the one PixVerse refused (no retry loop there) and the accepted one elsewhere.
    assert creates_for(pipeline.emulator, job) == 2
    assert accepted_for(pipeline.emulator, job) == 1
    alert = Notification.objects.get(user=staff, kind="provider_account_empty")
    assert "PixVerse" in alert.message and "500043" in alert.message
    assert not Notification.objects.filter(user=pipeline.world.member, kind="provider_account_empty").exists()
    # The empty account is kept out of auto routing until someone tops it up.
    assert routing.circuit_is_open("pixverse")


def test_500043_under_a_named_provider_fails_clearly_and_releases_the_hold(pipeline):
    _staff(pipeline.world)
    world = pipeline.world
    before = balance(world.member, world.team)
    pipeline.emulator.arm(provider="pixverse", fault="nocredits", on="create", times=5)
    job = generation_create(
        user=world.member, project=world.project, request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "pixverse")
    )
    pipeline.worker.settle(job)
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert job.error_code == "500043"
    assert "run out of credits" in job.error_message and "another provider" in job.error_message
    assert creates_for(pipeline.emulator, job) == 1
    assert Hold.objects.get(pk=job.hold_id).state == HoldState.RELEASED
    assert balance(world.member, world.team) == before
    assert Notification.objects.filter(kind="provider_account_empty").count() == 1
