"""MFA (allauth.mfa): TOTP and recovery codes, audit rows for MFA changes, and a team that requires MFA holding back
a member without it until they enrol. The browser flows are in tests/browser/test_mfa.py."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.test import Client

from studio.audit.models import AuditAction, AuditEvent
from studio.teams.models import Team
from tests.conftest import World
from tests.factories import PASSWORD


def current_code(secret: str) -> str:
    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))


def signed_in(user: Any) -> Client:
    """A client signed in through allauth's own form (so allauth knows when the password was last given)."""
    client = Client()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def reauthenticate(client: Client) -> None:
    """allauth asks for the password again before MFA changes (its reauthentication step)."""
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302, response.content[:300]


def enrol(user: Any) -> str:
    secret = "JBSWY3DPEHPK3PXP"
    TOTP.activate(user, secret)
    return secret


@pytest.mark.django_db
def test_mfa_team_requirement_holds_back_a_member_without_mfa(world: World) -> None:
    enrol(world.owner)
    owner = world.client_for(world.owner)
    response = owner.post(f"/teams/{world.team.pk}/require-mfa/", {"require_mfa": "on"})
    assert response.status_code == 302
    assert Team.objects.get(pk=world.team.pk).require_mfa
    member = signed_in(world.member)
    for url in ("/", f"/projects/{world.project.pk}/", f"/teams/{world.team.pk}/", "/assets/"):
        held = member.get(url)
        assert held.status_code == 302 and held["Location"] == "/accounts/2fa/totp/activate/", url
    reauthenticate(member)
    page = member.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200 and "requires two-factor authentication for its members" in page.content.decode()
    # Enrolling through allauth's own form lets them in.
    secret = member.session["mfa.totp.secret"]
    enrolled = member.post("/accounts/2fa/totp/activate/", {"code": current_code(secret)})
    assert enrolled.status_code == 302
    assert member.get(f"/projects/{world.project.pk}/").status_code == 200
    assert owner.get("/").status_code == 200  # the owner has MFA


@pytest.mark.django_db
def test_mfa_owner_cannot_require_it_without_having_it(world: World) -> None:
    url = f"/teams/{world.team.pk}/require-mfa/"
    response = world.client_for(world.owner).post(url, {"require_mfa": "on"}, follow=True)
    assert "Set up two-factor authentication for your own account first" in response.content.decode()
    assert not Team.objects.get(pk=world.team.pk).require_mfa


@pytest.mark.django_db
def test_mfa_only_owners_change_the_requirement(world: World) -> None:
    enrol(world.admin)
    url = f"/teams/{world.team.pk}/require-mfa/"
    assert world.client_for(world.admin).post(url, {"require_mfa": "on"}).status_code == 403
    assert world.client_for(world.outsider).post(url, {"require_mfa": "on"}).status_code == 404


@pytest.mark.django_db
def test_mfa_changes_write_audit_rows(world: World, django_capture_on_commit_callbacks: Any) -> None:
    # allauth.mfa sends its signals once the change is committed; the audit row follows it.
    client = signed_in(world.member)
    reauthenticate(client)
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session["mfa.totp.secret"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/2fa/totp/activate/", {"code": current_code(secret)}).status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.MFA_ENABLED, actor=world.member).exists()
    assert Authenticator.objects.filter(user=world.member, type=Authenticator.Type.RECOVERY_CODES).exists()
    # Regenerating recovery codes and removing the app are recorded too.
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/2fa/recovery-codes/generate/")
    assert AuditEvent.objects.filter(action=AuditAction.MFA_RECOVERY_CODES, actor=world.member).exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/2fa/totp/deactivate/")
    assert AuditEvent.objects.filter(action=AuditAction.MFA_DISABLED, actor=world.member).exists()


@pytest.mark.django_db
def test_mfa_sign_in_asks_for_the_code(world: World) -> None:
    secret = enrol(world.member)
    client = Client()
    step = client.post("/accounts/login/", {"login": world.member.email, "password": PASSWORD})
    assert step.status_code == 302 and step["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session
    assert client.post("/accounts/2fa/authenticate/", {"code": "000000"}).status_code == 200
    done = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert done.status_code == 302 and "_auth_user_id" in client.session
