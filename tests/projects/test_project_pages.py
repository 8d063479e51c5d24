"""Project pages from every side: owner, admin, member, viewer, outsider."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from studio.projects.models import Project
from tests.conftest import World
from tests.factories import ProjectFactory

ROLES = ["owner", "admin", "member", "viewer"]


def _url(name: str, project: Project) -> str:
    return reverse(name, kwargs={"pk": project.pk})


@pytest.mark.parametrize("who", ROLES)
def test_the_list_shows_the_active_teams_projects_only(world: World, who: str) -> None:
    body = world.client_for(getattr(world, who)).get(reverse("projects:list")).content.decode()
    assert "Launch film" in body and "Secret" not in body


def test_the_list_hides_archived_projects_until_asked(world: World) -> None:
    ProjectFactory(team=world.team, name="Old reel", archived_at=timezone.now())
    client = world.client_for(world.member)
    assert "Old reel" not in client.get(reverse("projects:list")).content.decode()
    archived = client.get(reverse("projects:list") + "?archived=1").content.decode()
    assert "Old reel" in archived and "Launch film" not in archived


def test_the_list_is_paginated(world: World) -> None:
    for n in range(25):
        ProjectFactory(team=world.team, name=f"P{n:02d}")
    client = world.client_for(world.member)
    first = client.get(reverse("projects:list")).content.decode()
    second = client.get(reverse("projects:list") + "?page=2").content.decode()
    assert "Page 1 of 2" in first and "Page 2 of 2" in second


def test_an_empty_team_gets_a_friendly_empty_state(world: World) -> None:
    body = world.client_for(world.outsider).get(reverse("projects:list") + "?archived=1").content.decode()
    assert "No archived projects" in body
    Project.objects.filter(team=world.outsider_team).delete()
    body = world.client_for(world.outsider).get(reverse("projects:list")).content.decode()
    assert "No projects in Other Co yet" in body


@pytest.mark.parametrize(("who", "status"), [("owner", 302), ("admin", 302), ("member", 302), ("viewer", 403)])
def test_create_from_every_role(world: World, who: str, status: int) -> None:
    client = world.client_for(getattr(world, who))
    response = client.post(reverse("projects:create"), {"name": f"By {who}", "description": "d"})
    assert response.status_code == status
    assert Project.objects.filter(team=world.team, name=f"By {who}").exists() == (status == 302)


def test_the_outsider_creates_in_their_own_team_only(world: World) -> None:
    world.client_for(world.outsider).post(reverse("projects:create"), {"name": "Mine"})
    assert Project.objects.get(name="Mine").team == world.outsider_team


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 200), ("admin", 200), ("member", 200), ("viewer", 200), ("outsider", 404)]
)
def test_detail_from_every_side(world: World, who: str, status: int) -> None:
    response = world.client_for(getattr(world, who)).get(_url("projects:detail", world.project))
    assert response.status_code == status
    if status == 200:
        assert 'id="library"' in response.content.decode()  # the include point for the pipeline's video library


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 302), ("admin", 302), ("member", 302), ("viewer", 403), ("outsider", 404)]
)
def test_edit_from_every_side(world: World, who: str, status: int) -> None:
    response = world.client_for(getattr(world, who)).post(
        _url("projects:edit", world.project), {"name": "Renamed", "description": "Now described"}
    )
    assert response.status_code == status
    world.project.refresh_from_db()
    assert (world.project.name == "Renamed") == (status == 302)
    if status == 302:
        assert world.project.description == "Now described"


def test_edit_refuses_an_empty_name(world: World) -> None:
    response = world.client_for(world.owner).post(
        _url("projects:edit", world.project), {"name": " ", "description": ""}
    )
    assert response.status_code == 200
    world.project.refresh_from_db()
    assert world.project.name == "Launch film"


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 302), ("admin", 302), ("member", 302), ("viewer", 403), ("outsider", 404)]
)
def test_archive_from_every_side(world: World, who: str, status: int) -> None:
    response = world.client_for(getattr(world, who)).post(_url("projects:archive", world.project))
    assert response.status_code == status
    world.project.refresh_from_db()
    assert world.project.is_archived == (status == 302)


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 302), ("admin", 302), ("member", 403), ("viewer", 403), ("outsider", 404)]
)
def test_restore_from_every_side(world: World, who: str, status: int) -> None:
    Project.objects.filter(pk=world.project.pk).update(archived_at=timezone.now())
    response = world.client_for(getattr(world, who)).post(_url("projects:restore", world.project))
    assert response.status_code == status
    world.project.refresh_from_db()
    assert world.project.is_archived == (status != 302)


def test_archive_and_restore_are_post_only(world: World) -> None:
    client = world.client_for(world.owner)
    assert client.get(_url("projects:archive", world.project)).status_code == 405
    assert client.get(_url("projects:restore", world.project)).status_code == 405


def test_an_archived_project_can_still_be_opened_by_members(world: World) -> None:
    Project.objects.filter(pk=world.project.pk).update(archived_at=timezone.now())
    body = world.client_for(world.viewer).get(_url("projects:detail", world.project)).content.decode()
    assert "archived" in body


def test_a_project_of_another_team_is_judged_by_that_teams_role_not_the_active_one(world: World) -> None:
    """The project page reuses the active team's membership for the permission check only when the project is in that
    team (studio.teams.access.get_with_perms_for_user ``known``): in another team, that team's role decides."""
    from django.urls import reverse

    from studio.teams.models import Membership, Role

    Membership.objects.create(team=world.outsider_team, user=world.owner, role=Role.VIEWER)
    client = world.client_for(world.owner)  # active team: Acme, where they are an owner
    page = client.get(reverse("projects:detail", kwargs={"pk": world.outsider_project.pk}))
    assert page.status_code == 200
    assert "Rename / describe" not in page.content.decode()  # a viewer there
    own = client.get(reverse("projects:detail", kwargs={"pk": world.project.pk}))
    assert "Rename / describe" in own.content.decode()
    # Not a member at all: still 404 (visible_to refuses before any membership is consulted).
    assert (
        world.client_for(world.member)
        .get(reverse("projects:detail", kwargs={"pk": world.outsider_project.pk}))
        .status_code
        == 404
    )


def test_the_known_membership_still_enforces_the_asked_permission(world: World) -> None:
    from django.core.exceptions import PermissionDenied

    from studio.projects.models import Project
    from studio.teams import access
    from studio.teams.access import Perm
    from studio.teams.models import Membership

    known = Membership.objects.get(team=world.team, user=world.viewer)
    with pytest.raises(PermissionDenied):
        access.get_with_perms_for_user(
            world.viewer, Project.objects.all(), perm=Perm.EDIT, known=known, pk=world.project.pk
        )
    project, perms = access.get_with_perms_for_user(
        world.viewer, Project.objects.all(), known=known, pk=world.project.pk
    )
    assert project == world.project and Perm.EDIT not in perms and Perm.VIEW in perms
