"""The notifications page (opened by the bell): "video ready" and "failed" from the pipeline, mark read, mark all
read, open the target. Another user's notification is a 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import GenerationJob
from studio.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_mark_read_open_and_mark_all(world):
    client = world.client_for(world.member)
    one = Notification.objects.create(user=world.member, kind="video_ready", message="one", url="/generations/videos/")
    two = Notification.objects.create(user=world.member, kind="video_failed", message="two")
    theirs = Notification.objects.create(user=world.owner, kind="video_ready", message="not bob's", url="/")
    response = client.post(reverse("notifications:open", kwargs={"pk": one.pk}))
    assert response.status_code == 302 and response.url == "/generations/videos/"
    one.refresh_from_db()
    assert one.read_at is not None
    client.post(reverse("notifications:read", kwargs={"pk": two.pk}))
    two.refresh_from_db()
    assert two.read_at is not None
    Notification.objects.filter(pk__in=[one.pk, two.pk]).update(read_at=None)
    client.post(reverse("notifications:read-all"))
    assert not Notification.objects.filter(user=world.member, read_at__isnull=True).exists()
    for name in ("notifications:open", "notifications:read"):
        assert client.post(reverse(name, kwargs={"pk": theirs.pk})).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_open_never_redirects_off_site(world):
    evil = Notification.objects.create(user=world.member, kind="x", message="x", url="https://evil.example/")
    response = world.client_for(world.member).post(reverse("notifications:open", kwargs={"pk": evil.pk}))
    assert response.url == reverse("notifications:list")


def test_an_empty_page_says_what_will_appear(world):
    body = world.client_for(world.viewer).get(reverse("notifications:list")).content.decode()
    assert "No notifications yet" in body
    assert GenerationJob.objects.count() == 0
