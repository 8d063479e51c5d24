"""Role changes, removal and leaving: the role table and the "a team keeps an owner" invariant."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from studio.teams import services
from studio.teams.models import Membership, Role
from tests.conftest import World


def _m(world: World, user: object) -> Membership:
    return Membership.objects.get(team=world.team, user=user)


def _role(world: World, user: object) -> str:
    return _m(world, user).role


# --- services ---------------------------------------------------------------------------------------------------


def test_the_last_owner_cannot_be_demoted(world: World) -> None:
    owner = _m(world, world.owner)
    with pytest.raises(services.TeamError, match="last owner"):
        services.membership_change_role(actor=owner, target=owner, role=Role.ADMIN)
    assert _role(world, world.owner) == Role.OWNER


def test_the_last_owner_cannot_leave(world: World) -> None:
    with pytest.raises(services.TeamError, match="last owner"):
        services.membership_leave(membership=_m(world, world.owner))
    assert _role(world, world.owner) == Role.OWNER


def test_the_last_owner_cannot_be_removed_even_by_themself(world: World) -> None:
    owner = _m(world, world.owner)
    with pytest.raises(services.TeamError, match="last owner"):
        services.membership_remove(actor=owner, target=owner)
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_an_owner_may_step_down_once_there_is_another_owner(world: World) -> None:
    owner = _m(world, world.owner)
    services.membership_change_role(actor=owner, target=_m(world, world.admin), role=Role.OWNER)
    services.membership_change_role(actor=owner, target=owner, role=Role.MEMBER)
    assert _role(world, world.owner) == Role.MEMBER
    assert _role(world, world.admin) == Role.OWNER
    # ...and now the new owner is the last one.
    with pytest.raises(services.TeamError):
        services.membership_leave(membership=_m(world, world.admin))


def test_admins_cannot_change_or_remove_owners_or_make_owners(world: World) -> None:
    admin, owner = _m(world, world.admin), _m(world, world.owner)
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=admin, target=owner, role=Role.MEMBER)
    with pytest.raises(PermissionDenied):
        services.membership_remove(actor=admin, target=owner)
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=admin, target=_m(world, world.member), role=Role.OWNER)
    assert _role(world, world.owner) == Role.OWNER
    assert _role(world, world.member) == Role.MEMBER


def test_admins_manage_non_owners(world: World) -> None:
    admin = _m(world, world.admin)
    services.membership_change_role(actor=admin, target=_m(world, world.viewer), role=Role.MEMBER)
    assert _role(world, world.viewer) == Role.MEMBER
    services.membership_remove(actor=admin, target=_m(world, world.viewer))
    assert not Membership.objects.filter(team=world.team, user=world.viewer).exists()


def test_members_cannot_manage_members(world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=_m(world, world.member), target=_m(world, world.viewer), role="admin")


def test_leaving_the_active_team_falls_back_to_the_personal_team(world: World) -> None:
    from studio.teams.services import team_create_personal

    personal = team_create_personal(user=world.member)
    services.membership_leave(membership=_m(world, world.member))
    world.member.refresh_from_db()
    assert world.member.active_team_id == personal.pk


# --- views ------------------------------------------------------------------------------------------------------


def test_owner_changes_a_role_through_the_page(world: World) -> None:
    url = reverse("teams:member-role", kwargs={"pk": _m(world, world.viewer).pk})
    response = world.client_for(world.owner).post(url, {"role": "member"})
    assert response.status_code == 302
    assert _role(world, world.viewer) == Role.MEMBER


def test_admin_cannot_demote_or_remove_the_owner_through_the_pages(world: World) -> None:
    client = world.client_for(world.admin)
    target = _m(world, world.owner).pk
    assert client.post(reverse("teams:member-role", kwargs={"pk": target}), {"role": "member"}).status_code == 403
    assert client.post(reverse("teams:member-remove", kwargs={"pk": target})).status_code == 403
    assert _role(world, world.owner) == Role.OWNER


def test_admin_cannot_make_an_owner_through_the_page(world: World) -> None:
    url = reverse("teams:member-role", kwargs={"pk": _m(world, world.member).pk})
    response = world.client_for(world.admin).post(url, {"role": "owner"})
    assert response.status_code == 403
    assert _role(world, world.member) == Role.MEMBER


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_members_and_viewers_cannot_change_roles_or_remove(world: World, who: str) -> None:
    client = world.client_for(getattr(world, who))
    target = _m(world, world.admin).pk
    assert client.post(reverse("teams:member-role", kwargs={"pk": target}), {"role": "viewer"}).status_code == 403
    assert client.post(reverse("teams:member-remove", kwargs={"pk": target})).status_code == 403
    assert _role(world, world.admin) == Role.ADMIN


def test_last_owner_leaving_through_the_page_is_refused_with_a_message(world: World) -> None:
    response = world.client_for(world.owner).post(reverse("teams:leave", kwargs={"pk": world.team.pk}), follow=True)
    assert "last owner" in response.content.decode()
    assert _role(world, world.owner) == Role.OWNER


def test_last_owner_demoting_themself_through_the_page_is_refused(world: World) -> None:
    url = reverse("teams:member-role", kwargs={"pk": _m(world, world.owner).pk})
    response = world.client_for(world.owner).post(url, {"role": "admin"}, follow=True)
    assert "last owner" in response.content.decode()
    assert _role(world, world.owner) == Role.OWNER


@pytest.mark.parametrize("who", ["admin", "member", "viewer"])
def test_non_owners_may_leave(world: World, who: str) -> None:
    user = getattr(world, who)
    response = world.client_for(user).post(reverse("teams:leave", kwargs={"pk": world.team.pk}))
    assert response.status_code == 302
    assert not Membership.objects.filter(team=world.team, user=user).exists()


def test_outsider_cannot_leave_or_touch_members(world: World) -> None:
    client = world.client_for(world.outsider)
    assert client.post(reverse("teams:leave", kwargs={"pk": world.team.pk})).status_code == 404
    target = _m(world, world.viewer).pk
    assert client.post(reverse("teams:member-remove", kwargs={"pk": target})).status_code == 404
    assert Membership.objects.filter(pk=target).exists()
