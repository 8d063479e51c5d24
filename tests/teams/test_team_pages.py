"""Team pages from every side: owner, admin, member, viewer, outsider."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from studio.accounts.models import User
from studio.teams.access import PERMISSION_LABELS
from studio.teams.models import Membership, Role, Team
from tests.conftest import World

ROLES = ["owner", "admin", "member", "viewer"]


@pytest.mark.parametrize("who", ROLES)
def test_every_member_sees_the_team_page_with_members_and_the_permission_table(world: World, who: str) -> None:
    response = world.client_for(getattr(world, who)).get(reverse("teams:detail", kwargs={"pk": world.team.pk}))
    assert response.status_code == 200
    body = response.content.decode()
    for email in ("alice@example.com", "adam@example.com", "bob@example.com", "vera@example.com"):
        assert email in body
    for label in PERMISSION_LABELS.values():
        assert escape(label.capitalize()) in body
    assert ("Send invitation" in body) == (who in ("owner", "admin"))


def test_outsider_gets_404_on_the_team_page(world: World) -> None:
    response = world.client_for(world.outsider).get(reverse("teams:detail", kwargs={"pk": world.team.pk}))
    assert response.status_code == 404


def test_team_list_shows_only_my_teams(world: World) -> None:
    body = world.client_for(world.member).get(reverse("teams:list")).content.decode()
    assert "Acme" in body and "Other Co" not in body


def test_create_a_team_makes_me_owner_and_switches_to_it(world: World) -> None:
    response = world.client_for(world.member).post(reverse("teams:create"), {"name": "Night Crew"})
    team = Team.objects.get(name="Night Crew")
    assert response.status_code == 302
    assert Membership.objects.get(team=team, user=world.member).role == Role.OWNER
    world.member.refresh_from_db()
    assert world.member.active_team_id == team.pk


def test_create_a_team_needs_a_name(world: World) -> None:
    response = world.client_for(world.member).post(reverse("teams:create"), {"name": "   "})
    assert response.status_code == 200
    assert not Team.objects.filter(name="").exists()


@pytest.mark.parametrize("who", ROLES)
def test_members_switch_to_a_team_they_belong_to(world: World, who: str) -> None:
    user: User = getattr(world, who)
    other = Team.objects.create(name="Side", slug="side")
    Membership.objects.create(team=other, user=user, role=Role.VIEWER)
    response = world.client_for(user).post(
        reverse("teams:switch", kwargs={"pk": other.pk}), {"next": reverse("projects:list")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:list")
    user.refresh_from_db()
    assert user.active_team_id == other.pk


def test_switching_to_a_team_you_are_not_in_is_404_and_changes_nothing(world: World) -> None:
    response = world.client_for(world.outsider).post(reverse("teams:switch", kwargs={"pk": world.team.pk}))
    assert response.status_code == 404
    world.outsider.refresh_from_db()
    assert world.outsider.active_team_id == world.outsider_team.pk


def test_switch_ignores_an_offsite_next(world: World) -> None:
    response = world.client_for(world.owner).post(
        reverse("teams:switch", kwargs={"pk": world.team.pk}), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("dashboard")


def test_switch_is_post_only(world: World) -> None:
    assert world.client_for(world.owner).get(reverse("teams:switch", kwargs={"pk": world.team.pk})).status_code == 405


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("admin", 403), ("member", 403), ("viewer", 403)])
def test_only_owners_rename_the_team(world: World, who: str, status: int) -> None:
    client = world.client_for(getattr(world, who))
    url = reverse("teams:edit", kwargs={"pk": world.team.pk})
    assert client.get(url).status_code == status
    client.post(url, {"name": "Renamed"})
    world.team.refresh_from_db()
    assert (world.team.name == "Renamed") == (who == "owner")


def test_outsider_cannot_rename(world: World) -> None:
    url = reverse("teams:edit", kwargs={"pk": world.team.pk})
    assert world.client_for(world.outsider).post(url, {"name": "Pwned"}).status_code == 404


@pytest.mark.parametrize(("who", "status"), [("admin", 403), ("member", 403), ("viewer", 403), ("outsider", 404)])
def test_only_owners_delete_the_team(world: World, who: str, status: int) -> None:
    url = reverse("teams:delete", kwargs={"pk": world.team.pk})
    client = world.client_for(getattr(world, who))
    assert client.get(url).status_code == status
    assert client.post(url).status_code == status
    assert Team.objects.filter(pk=world.team.pk).exists()


def test_owner_deletes_the_team_after_a_confirmation_page(world: World) -> None:
    client = world.client_for(world.owner)
    url = reverse("teams:delete", kwargs={"pk": world.team.pk})
    page = client.get(url)
    assert page.status_code == 200 and "cannot be undone" in page.content.decode()
    assert client.post(url).status_code == 302
    assert not Team.objects.filter(pk=world.team.pk).exists()
    world.member.refresh_from_db()
    assert world.member.active_team_id is None


def test_the_personal_team_cannot_be_deleted(db: None) -> None:
    from django.test import Client

    from studio.accounts.services import user_create

    user = user_create(email="solo@example.com", password="x-long-password-1", verified=True)
    client = Client()
    client.force_login(user)
    team = user.active_team
    assert team is not None and team.is_personal
    response = client.post(reverse("teams:delete", kwargs={"pk": team.pk}), follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert Team.objects.filter(pk=team.pk).exists()
