"""Pages show actions by the viewer's role in the team of the object on the page — not in their active team.

Vera is a viewer in Acme but the owner of her own studio, which is her active team: on Acme's pages she must not be
offered what Acme's role table refuses her, and Adam (Acme admin, active elsewhere) must see Acme's billing tabs.
"""

from __future__ import annotations

from django.urls import reverse

from studio.teams.access import Perm, permissions_for
from studio.teams.models import Role
from tests.conftest import World
from tests.factories import MembershipFactory, TeamFactory


def _own_team_active(user) -> None:
    team = TeamFactory(name=f"{user.email} own")
    MembershipFactory(team=team, user=user, role=Role.OWNER)
    user.active_team = team
    user.save(update_fields=["active_team"])


def test_permissions_for_follows_the_role_in_that_team(world: World) -> None:
    assert permissions_for(world.viewer, world.team) == frozenset({Perm.VIEW})
    assert Perm.GENERATE in permissions_for(world.member, world.team)
    assert permissions_for(world.outsider, world.team) == frozenset()


def test_a_viewer_is_not_offered_new_video_in_another_teams_project(world: World) -> None:
    _own_team_active(world.viewer)
    page = world.client_for(world.viewer).get(reverse("projects:detail", kwargs={"pk": world.project.pk}))
    assert page.status_code == 200
    compose_url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    assert compose_url not in page.content.decode()
    _own_team_active(world.member)
    page = world.client_for(world.member).get(reverse("projects:detail", kwargs={"pk": world.project.pk}))
    assert compose_url in page.content.decode()


def test_billing_tabs_follow_the_role_in_the_pages_team(world: World) -> None:
    settings_url = reverse("billing:team-settings", kwargs={"team_id": world.team.pk})
    wallet_url = reverse("billing:wallet", kwargs={"team_id": world.team.pk})
    _own_team_active(world.admin)  # owner elsewhere, admin in Acme: may view Acme's billing
    assert settings_url in world.client_for(world.admin).get(wallet_url).content.decode()
    _own_team_active(world.member)  # owner elsewhere, member in Acme: may not
    assert settings_url not in world.client_for(world.member).get(wallet_url).content.decode()
