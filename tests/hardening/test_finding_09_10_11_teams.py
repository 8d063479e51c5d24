"""Issue 13 findings 9 (team deletion once the team held credits), 10 (CR/LF in a team name broke invitations
after saving them) and 11 (invitations had no rate limit)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from billing import ledger
from billing.models import LedgerTransaction, Wallet
from billing.wallets import team_wallet
from studio.teams import services
from studio.teams.models import Invitation, Membership, Team
from tests.conftest import World


def _delete(client: Client, team: Team) -> Any:
    return client.post(f"/teams/{team.pk}/delete/", follow=True)


@pytest.mark.django_db
def test_finding_09_team_with_credits_left_is_refused_with_the_reason(world: World) -> None:
    wallet = team_wallet(team=world.team)
    ledger.grant(wallet=wallet, amount=300, reason="test", created_by=None)
    response = _delete(world.client_for(world.owner), world.team)
    assert response.status_code == 200
    assert "still holds 300 credits" in response.content.decode()
    assert Team.objects.filter(pk=world.team.pk, archived_at__isnull=True).exists()
    assert world.team.memberships.count() == 4


@pytest.mark.django_db
def test_finding_09_team_with_a_running_job_is_refused(world: World) -> None:
    from tests.generations.factories import job_route_kwargs

    job_route_kwargs(world)  # a job of the team, not finished
    with pytest.raises(services.TeamError, match="in progress"):
        services.team_delete(team=world.team)
    assert Team.objects.get(pk=world.team.pk).archived_at is None


@pytest.mark.django_db
def test_finding_09_team_that_held_credits_is_archived_and_keeps_its_ledger(world: World) -> None:
    wallet = team_wallet(team=world.team)
    ledger.grant(wallet=wallet, amount=300, reason="test", created_by=None)
    ledger.adjust(wallet=wallet, amount=-300, reason="spent elsewhere", created_by=None)
    rows_before = LedgerTransaction.objects.count()
    response = _delete(world.client_for(world.owner), world.team)
    assert response.status_code == 200  # no ProtectedError, no 500
    assert "billing history is kept" in response.content.decode()
    team = Team.objects.get(pk=world.team.pk)
    assert team.archived_at is not None
    assert Wallet.objects.filter(team=team).exists()
    assert LedgerTransaction.objects.count() == rows_before
    assert not Membership.objects.filter(team=team).exists()
    # Nobody reaches it any more: former members get 404 like outsiders.
    assert world.client_for(world.member).get(f"/teams/{team.pk}/").status_code == 404
    world.owner.refresh_from_db()
    assert world.owner.active_team_id != team.pk


@pytest.mark.django_db
def test_finding_09_team_without_history_is_deleted(world: World) -> None:
    assert services.team_delete(team=world.team) == "deleted"
    assert not Team.objects.filter(pk=world.team.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Evil\r\nBcc: victim@example.com", "Line\nbreak", "Nul\x00byte", "Tab\there"])
def test_finding_10_team_names_with_control_characters_are_refused(world: World, name: str) -> None:
    client = world.client_for(world.owner)
    response = client.post(f"/teams/{world.team.pk}/edit/", {"name": name})
    assert response.status_code in (200, 400)
    assert Team.objects.get(pk=world.team.pk).name == "Acme"
    with pytest.raises(services.TeamError):
        services.team_create(owner=world.owner, name=name)


@pytest.mark.django_db
def test_finding_10_a_stored_crlf_name_still_invites_with_a_safe_subject(world: World) -> None:
    Team.objects.filter(pk=world.team.pk).update(name="Acme\r\nBcc: victim@example.com")  # stored before validation
    world.owner.name = "Alice\r\nX-Evil: 1"
    world.owner.save()
    response = world.client_for(world.owner).post(
        f"/teams/{world.team.pk}/invite/", {"email": "guest@example.com", "role": "member"}
    )
    assert response.status_code == 302
    [message] = mail.outbox
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "Acme" not in message.subject and "Bcc" not in message.subject
    assert message.bcc == [] and "X-Evil" not in message.message()
    assert "Acme Bcc: victim@example.com" in message.body  # the name is shown, flattened to one line


@pytest.mark.django_db
def test_finding_10_when_the_email_cannot_be_sent_no_invitation_is_saved(world: World, monkeypatch: Any) -> None:
    def refuse(*args: Any, **kwargs: Any) -> int:
        raise ConnectionRefusedError("SMTP is down")

    monkeypatch.setattr(services, "send_mail", refuse)
    response = world.client_for(world.owner).post(
        f"/teams/{world.team.pk}/invite/", {"email": "guest@example.com", "role": "member"}
    )
    assert response.status_code == 400
    assert "could not be sent" in response.content.decode()
    assert not Invitation.objects.filter(email="guest@example.com").exists()


@pytest.mark.django_db
def test_finding_11_invitations_are_rate_limited_per_inviter(world: World, settings: Any) -> None:
    settings.INVITATIONS_PER_HOUR = 10
    client = world.client_for(world.owner)
    statuses = [
        client.post(f"/teams/{world.team.pk}/invite/", {"email": f"g{n}@example.com", "role": "member"}).status_code
        for n in range(25)
    ]
    assert statuses[:10] == [302] * 10
    assert set(statuses[10:]) == {429}
    assert len(mail.outbox) == 10
    assert Invitation.objects.filter(team=world.team).count() == 10
    refused = client.post(f"/teams/{world.team.pk}/invite/", {"email": "late@example.com", "role": "member"})
    assert "last hour" in refused.content.decode()


@pytest.mark.django_db
def test_finding_11_invitations_are_rate_limited_per_team(world: World, settings: Any) -> None:
    settings.INVITATIONS_PER_HOUR = 100
    settings.INVITATIONS_PER_DAY = 3
    for n, inviter in enumerate([world.owner, world.admin, world.owner]):
        services.invitation_create(
            team=world.team, email=f"t{n}@example.com", role="member", invited_by=inviter, inviter_role="owner"
        )
    with pytest.raises(services.InvitationRateLimited, match="24 hours"):
        services.invitation_create(
            team=world.team, email="t9@example.com", role="member", invited_by=world.admin, inviter_role="admin"
        )
