"""The pipeline tells a job's creator when the video is ready or failed, through ``notify`` (the bell's page)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from generations.providers.base import Mode
from generations.services.jobs import generation_create
from studio.notifications.models import Notification
from tests.generations.test_generation_lifecycle import request_for


def test_the_pipeline_notifies_the_creator_when_a_video_is_ready_or_failed(pipeline):
    world = pipeline.world
    ok = generation_create(
        user=world.member, project=world.project, request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed")
    )
    bad = generation_create(
        user=world.member,
        project=world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed", prompt="a storm #fail"),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.db.transaction.on_commit", lambda func, **kwargs: func())
        pipeline.worker.settle(ok, bad)
    kinds = dict(Notification.objects.filter(user=world.member).values_list("url", "kind"))
    assert kinds[reverse("generations:job", kwargs={"pk": ok.pk})] == "video_ready"
    assert kinds[reverse("generations:job", kwargs={"pk": bad.pk})] == "video_failed"
    assert not Notification.objects.filter(user=world.owner).exists()

    client = world.client_for(world.member)
    page = client.get(reverse("notifications:list")).content.decode()
    assert "Your video is ready" in page and "Your video failed" in page and "Mark all read (2)" in page
    assert 'href="/notifications/"' in client.get(reverse("projects:list")).content.decode()  # the bell opens it
