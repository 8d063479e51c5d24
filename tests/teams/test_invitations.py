"""Invitations: signed, expiring, single-use links; every refusal is clear and changes nothing."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studio.teams import services
from studio.teams.models import INVITATION_LIFETIME, Invitation, Membership, Role
from tests.conftest import World
from tests.factories import PASSWORD, UserFactory


def _invite(world: World, email: str = "newbie@example.com", role: str = Role.MEMBER) -> Invitation:
    return services.invitation_create(
        team=world.team, email=email, role=role, invited_by=world.owner, inviter_role=Role.OWNER
    )


def _accept_url(invitation: Invitation) -> str:
    return reverse("teams:accept-invitation", kwargs={"token": services.invitation_token(invitation)})


def _snapshot(world: World) -> tuple[object, ...]:
    return tuple(Membership.objects.filter(team=world.team).order_by("pk").values_list("user_id", "role")) + tuple(
        Invitation.objects.order_by("pk").values_list("pk", "accepted_at", "accepted_by", "revoked_at")
    )


# --- sending --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_invite_by_email(world: World, who: str, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client_for(getattr(world, who)).post(
            reverse("teams:invite", kwargs={"pk": world.team.pk}), {"email": "New@Example.com", "role": "member"}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get(team=world.team)
    assert invitation.email == "new@example.com"
    assert invitation.expires_at - invitation.created_at == INVITATION_LIFETIME == timedelta(days=7)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.com"]
    assert services.invitation_url(invitation) in mail.outbox[0].body


@pytest.mark.parametrize(("who", "status"), [("member", 403), ("viewer", 403), ("outsider", 404)])
def test_members_viewers_and_outsiders_cannot_invite(world: World, who: str, status: int) -> None:
    client = world.client_for(getattr(world, who))
    url = reverse("teams:invite", kwargs={"pk": world.team.pk})
    assert client.get(url).status_code == status
    assert client.post(url, {"email": "x@example.com", "role": "member"}).status_code == status
    assert not Invitation.objects.exists()


def test_admins_cannot_invite_owners(world: World) -> None:
    response = world.client_for(world.admin).post(
        reverse("teams:invite", kwargs={"pk": world.team.pk}), {"email": "boss@example.com", "role": "owner"}
    )
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_inviting_an_existing_member_or_twice_is_refused(world: World) -> None:
    client = world.client_for(world.owner)
    url = reverse("teams:invite", kwargs={"pk": world.team.pk})
    response = client.post(url, {"email": "BOB@example.com", "role": "member"})
    assert "already a member" in response.content.decode()
    client.post(url, {"email": "new@example.com", "role": "member"})
    response = client.post(url, {"email": "new@example.com", "role": "member"})
    assert "already has an open invitation" in response.content.decode()
    assert Invitation.objects.count() == 1


def test_an_expired_open_invitation_does_not_block_a_new_one(world: World) -> None:
    old = _invite(world)
    Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    new = _invite(world)
    old.refresh_from_db()
    assert old.revoked_at is not None and new.is_open


# --- accepting ------------------------------------------------------------------------------------------------------


def test_the_invitee_accepts_and_joins_with_the_invited_role(world: World) -> None:
    invitation = _invite(world, role=Role.VIEWER)
    invitee = UserFactory(email="newbie@example.com")
    client = world.client_for(invitee)
    page = client.get(_accept_url(invitation))
    assert page.status_code == 200 and "Acme" in page.content.decode()
    assert not Membership.objects.filter(user=invitee).exists()  # GET changes nothing (mail scanners prefetch)
    response = client.post(_accept_url(invitation))
    assert response.status_code == 302
    assert Membership.objects.get(team=world.team, user=invitee).role == Role.VIEWER
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_by == invitee
    invitee.refresh_from_db()
    assert invitee.active_team_id == world.team.pk


def test_a_reused_link_is_refused_and_changes_nothing(world: World) -> None:
    invitation = _invite(world)
    invitee = UserFactory(email="newbie@example.com")
    client = world.client_for(invitee)
    client.post(_accept_url(invitation))
    Membership.objects.filter(team=world.team, user=invitee).update(role=Role.VIEWER)  # demoted since
    before = _snapshot(world)
    for method in (client.get, client.post):
        response = method(_accept_url(invitation))
        assert response.status_code == 410
        assert "already been used" in response.content.decode()
    assert _snapshot(world) == before


def test_single_use_is_enforced_by_the_conditional_update(world: World) -> None:
    """Two acceptances racing past the read: the UPDATE on accepted_at IS NULL lets exactly one through."""
    invitation = _invite(world)
    invitee = UserFactory(email="newbie@example.com")
    token = services.invitation_token(invitation)
    services.invitation_accept(token=token, user=invitee)
    Invitation.objects.filter(pk=invitation.pk).update(accepted_at=None)  # as if the 2nd reader saw it open...
    Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())  # ...and the 1st wrote first
    with pytest.raises(services.InvitationError) as exc:
        services.invitation_accept(token=token, user=invitee)
    assert exc.value.code == "used"


def test_an_expired_link_is_refused_and_changes_nothing(world: World) -> None:
    invitation = _invite(world)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client = world.client_for(UserFactory(email="newbie@example.com"))
    before = _snapshot(world)
    response = client.post(_accept_url(invitation))
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert _snapshot(world) == before


def test_a_link_older_than_seven_days_is_refused_by_its_signature(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    invitation = _invite(world)
    url = _accept_url(invitation)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + timedelta(days=30))
    later = time.time() + INVITATION_LIFETIME.total_seconds() + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    client = world.client_for(UserFactory(email="newbie@example.com"))
    before = _snapshot(world)
    response = client.post(url)
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert _snapshot(world) == before


def test_a_revoked_link_is_refused_and_changes_nothing(world: World) -> None:
    invitation = _invite(world)
    world.client_for(world.admin).post(reverse("teams:revoke-invitation", kwargs={"pk": invitation.pk}))
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    client = world.client_for(UserFactory(email="newbie@example.com"))
    before = _snapshot(world)
    response = client.post(_accept_url(invitation))
    assert response.status_code == 410 and "revoked" in response.content.decode()
    assert _snapshot(world) == before


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # tampered signature
        lambda token: signing.dumps({"i": 1}, salt="another.salt"),  # signed for something else
        lambda token: signing.dumps({"i": 999_999}, salt=services.INVITATION_SALT, key="not-our-secret-key"),
        lambda token: "not-a-token",
    ],
    ids=["tampered", "other-salt", "other-key", "garbage"],
)
def test_a_forged_link_is_refused_and_changes_nothing(world: World, forge) -> None:  # type: ignore[no-untyped-def]
    invitation = _invite(world)
    client = world.client_for(UserFactory(email="newbie@example.com"))
    url = reverse("teams:accept-invitation", kwargs={"token": forge(services.invitation_token(invitation))})
    before = _snapshot(world)
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert _snapshot(world) == before


def test_a_valid_signature_for_a_deleted_invitation_is_refused(world: World) -> None:
    invitation = _invite(world)
    url = _accept_url(invitation)
    invitation.delete()
    response = world.client_for(UserFactory(email="newbie@example.com")).post(url)
    assert response.status_code == 410


def test_accepting_while_logged_in_with_another_email_is_refused_and_changes_nothing(world: World) -> None:
    invitation = _invite(world)
    client = world.client_for(world.outsider)
    before = _snapshot(world)
    for method in (client.get, client.post):
        response = method(_accept_url(invitation))
        assert response.status_code == 403
        body = response.content.decode()
        assert "newbie@example.com" in body and "charlie@example.com" in body
    assert _snapshot(world) == before
    assert Invitation.objects.get(pk=invitation.pk).is_open


def test_email_comparison_ignores_case(world: World) -> None:
    invitation = _invite(world, email="MixedCase@Example.com")
    invitee = UserFactory(email="mixedcase@example.com")
    assert world.client_for(invitee).post(_accept_url(invitation)).status_code == 302
    assert Membership.objects.filter(team=world.team, user=invitee).exists()


# --- arriving without an account --------------------------------------------------------------------------------


def test_an_invitee_without_an_account_signs_up_and_lands_back_on_the_invitation(world: World) -> None:
    invitation = _invite(world)
    url = _accept_url(invitation)
    client = Client()
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_signup"))
    signup_url = response["Location"]
    response = client.post(
        signup_url,
        {"email": "newbie@example.com", "password1": "a-long-unusual-pass", "password2": "a-long-unusual-pass"},
    )
    assert response.status_code == 302
    confirm = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+", mail.outbox[-1].body)
    assert confirm is not None
    confirm_path = "/" + confirm.group(0).split("/", 3)[3]
    response = client.post(confirm_path)
    assert response.status_code == 302
    assert response["Location"] == url
    page = client.get(url)
    assert page.status_code == 200 and "Accept and join" in page.content.decode()
    assert client.post(url).status_code == 302
    assert Membership.objects.filter(team=world.team, user__email="newbie@example.com").exists()


def test_an_invitee_with_an_account_is_sent_to_log_in_and_lands_back(world: World) -> None:
    invitation = _invite(world)
    UserFactory(email="newbie@example.com")
    url = _accept_url(invitation)
    client = Client()
    response = client.get(url)
    assert response["Location"].startswith(reverse("account_login"))
    response = client.post(response["Location"], {"login": "newbie@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == url


# --- revoking -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "revoked"),
    [
        ("owner", 302, True),
        ("admin", 302, True),
        ("member", 403, False),
        ("viewer", 403, False),
        ("outsider", 404, False),
    ],
)
def test_revoke_from_every_side(world: World, who: str, status: int, revoked: bool) -> None:
    invitation = _invite(world)
    response = world.client_for(getattr(world, who)).post(
        reverse("teams:revoke-invitation", kwargs={"pk": invitation.pk})
    )
    assert response.status_code == status
    invitation.refresh_from_db()
    assert (invitation.revoked_at is not None) == revoked


def test_open_invitations_are_listed_for_inviters_only(world: World) -> None:
    _invite(world, email="listed@example.com")
    url = reverse("teams:detail", kwargs={"pk": world.team.pk})
    assert "listed@example.com" in world.client_for(world.admin).get(url).content.decode()
    assert "listed@example.com" not in world.client_for(world.member).get(url).content.decode()
