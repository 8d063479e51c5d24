"""What every library page reads from the cache instead of the database (issue 12): the team's members (the creator
filter), its open projects (the Move menu) and the bell's unread count. Each change through the services shows on
the very next page; a cache that is down costs queries, never an error."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studio.notifications.services import notification_mark_read, notify
from studio.projects import services as project_services
from studio.teams import services as team_services
from studio.teams.models import Membership, Role
from tests.conftest import World
from tests.factories import UserFactory
from tests.generations.test_library import make_jobs
from tests.net import free_port

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit forgetting runs as in production


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def creators(body: str) -> list[str]:
    select = re.search(r'<select name="creator".*?</select>', body, re.S)
    assert select is not None
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select.group(0))


def move_targets(body: str) -> list[str]:
    select = re.search(r'<select name="project" aria-label="Move to project">.*?</select>', body, re.S)
    return re.findall(r"<option[^>]*>([^<]+)</option>", select.group(0)) if select else []


def bell(body: str) -> int:
    found = re.search(r'aria-label="(\d+) unread notifications"', body)
    return int(found.group(1)) if found else 0


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        client.get(url).content  # noqa: B018
    return len(captured)


def test_a_warm_library_page_reads_neither_the_team_lists_nor_the_bell_count(world: World) -> None:
    client = world.client_for(world.owner)
    url = reverse("projects:detail", kwargs={"pk": world.project.pk})
    cold = count_queries(client, url)
    warm = count_queries(client, url)
    assert cold - warm == 3  # the members, the open projects, the unread count
    assert count_queries(client, url) == warm


def test_member_and_project_changes_show_on_the_next_page(world: World) -> None:
    make_jobs(world, 1)  # the Move menu is in the bar over the videos
    client = world.client_for(world.owner)
    url = reverse("projects:detail", kwargs={"pk": world.project.pk})
    body = page(client, url)
    assert creators(body) == ["adam@example.com", "alice@example.com", "bob@example.com", "vera@example.com"]
    assert move_targets(body) == []  # the only project is this one

    invitation = team_services.invitation_create(
        team=world.team, email="newbie@example.com", role=Role.MEMBER, invited_by=world.owner, inviter_role=Role.OWNER
    )
    newbie = UserFactory(email="newbie@example.com")
    team_services.invitation_accept(token=team_services.invitation_token(invitation), user=newbie)
    assert "newbie@example.com" in creators(page(client, url))

    other = project_services.project_create(team=world.team, user=world.owner, name="B-roll")
    assert move_targets(page(client, url)) == ["B-roll"]
    project_services.project_update(project=other, name="Behind the scenes", description="")
    assert move_targets(page(client, url)) == ["Behind the scenes"]
    project_services.project_archive(project=other)
    assert move_targets(page(client, url)) == []
    project_services.project_restore(project=other)
    assert move_targets(page(client, url)) == ["Behind the scenes"]

    owner = Membership.objects.get(team=world.team, user=world.owner)
    team_services.membership_remove(actor=owner, target=Membership.objects.get(team=world.team, user=world.member))
    assert "bob@example.com" not in creators(page(client, url))
    team_services.membership_leave(membership=Membership.objects.get(team=world.team, user=newbie))
    assert creators(page(client, url)) == ["adam@example.com", "alice@example.com", "vera@example.com"]
    # Another team's lists are not touched by any of it.
    assert creators(page(world.client_for(world.outsider), reverse("generations:videos"))) == ["charlie@example.com"]


def test_a_members_new_primary_email_shows_in_the_creator_filter(world: World) -> None:
    from allauth.account.internal.flows.manage_email import emit_email_changed
    from allauth.account.models import EmailAddress
    from django.test import RequestFactory

    client = world.client_for(world.owner)
    url = reverse("projects:detail", kwargs={"pk": world.project.pk})
    assert "bob@example.com" in creators(page(client, url))
    old = EmailAddress.objects.get(user=world.member, email="bob@example.com")  # the factory's, primary
    new = EmailAddress.objects.create(user=world.member, email="robert@example.com", primary=False, verified=True)
    new.set_as_primary()  # what allauth's "Make primary" does, then it announces the change:
    request = RequestFactory().post("/accounts/email/")
    request.user = world.member
    emit_email_changed(request, old, new)
    listed = creators(page(client, url))
    assert "robert@example.com" in listed and "bob@example.com" not in listed


def test_the_bell_counts_new_notifications_and_clears_when_read(world: World) -> None:
    client = world.client_for(world.member)
    url = reverse("projects:list")
    assert bell(page(client, url)) == 0
    notify(user=world.member, kind="x", message="one")
    notify(user=world.member, kind="x", message="two")
    notify(user=world.owner, kind="x", message="not bob's")
    assert bell(page(client, url)) == 2
    assert bell(page(client, url)) == 2
    notification_mark_read(user=world.member)
    assert bell(page(client, url)) == 0
    assert bell(page(world.client_for(world.owner), url)) == 1


@pytest.fixture
def cache_down(settings: Any) -> None:
    """The studio's cache pointed at a Redis that is not there (Django's setting_changed handler drops the caches)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: connection refused
        }
    }


def test_pages_and_changes_go_on_from_the_database_while_the_cache_is_down(world: World, cache_down: None) -> None:
    make_jobs(world, 1)
    client = world.client_for(world.owner)
    url = reverse("projects:detail", kwargs={"pk": world.project.pk})
    notify(user=world.owner, kind="x", message="one")
    project_services.project_create(team=world.team, user=world.owner, name="B-roll")
    body = page(client, url)
    assert bell(body) == 1
    assert move_targets(body) == ["B-roll"]
    assert "bob@example.com" in creators(body)
    notification_mark_read(user=world.owner)
    assert bell(page(client, url)) == 0


def test_cards_name_their_creators_from_the_directory_and_former_members_from_one_query(world: World) -> None:
    """Library rows are not joined to the user table: each card's creator comes from the team's cached directory,
    and the creators who have left the team are read in one query."""
    world.admin.name = "Adam Admin"
    world.admin.save(update_fields=["name"])
    make_jobs(world, 2, creator=world.member)
    make_jobs(world, 2, creator=world.admin, prompt="a loud lake")
    client = world.client_for(world.owner)
    url = reverse("projects:detail", kwargs={"pk": world.project.pk})
    body = page(client, url)
    assert body.count(f'title="bob@example.com">{html.escape(world.member.display_name)}</dd>') == 2
    assert body.count('title="adam@example.com">Adam Admin</dd>') == 2
    members_only = count_queries(client, url)
    owner = Membership.objects.get(team=world.team, user=world.owner)
    team_services.membership_remove(actor=owner, target=Membership.objects.get(team=world.team, user=world.admin))
    body = page(client, url)
    assert body.count('title="adam@example.com">Adam Admin</dd>') == 2  # still named on their videos
    assert "adam@example.com" not in creators(body)  # but no longer a member to filter by
    assert count_queries(client, url) == members_only + 1
