"""An audit row for each recorded action (issue 8 item 6), written through the real views and services, with actor,
team, target, client IP and reason; and the team audit page and its CSV show only that team's rows."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from billing import ledger
from billing.wallets import personal_wallet, team_wallet
from studio.accounts.services import api_token_create
from studio.audit.models import AuditAction, AuditEvent
from studio.moderation.models import Source
from studio.moderation.services import Decision, appeal_decide, appeal_file, case_decide, signal_add
from studio.teams import services as team_services
from studio.teams.models import Invitation, Role
from tests.assets.images import media_root  # noqa: F401
from tests.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory
from tests.moderation.conftest import delivered_job

pytestmark = pytest.mark.django_db


def rows(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


@pytest.fixture
def staff(db):
    return UserFactory(email="root@example.com", is_staff=True), UserFactory(email="root2@example.com", is_staff=True)


def test_sign_in_failed_sign_in_and_password_change(world, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client = Client(HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.1")
    client.post(reverse("account_login"), {"login": world.member.email, "password": "wrong"})
    [failed] = rows(AuditAction.SIGN_IN_FAILED)
    assert failed.data["login"] == world.member.email and failed.actor is None
    assert failed.ip == "203.0.113.9"
    assert "wrong" not in str(failed.data)
    client.post(reverse("account_login"), {"login": world.member.email, "password": PASSWORD})
    [signed_in] = rows(AuditAction.SIGN_IN)
    assert signed_in.actor == world.member and signed_in.ip == "203.0.113.9"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "an0ther-long-passphrase", "password2": "an0ther-long-passphrase"},
    )
    assert response.status_code == 302
    [changed] = rows(AuditAction.PASSWORD_CHANGED)
    assert changed.actor == world.member


def test_role_change_invitations_member_removal_and_team_deletion(world):
    owner = world.client_for(world.owner)
    viewer_membership = world.team.memberships.get(user=world.viewer)
    owner.post(reverse("teams:member-role", kwargs={"pk": viewer_membership.pk}), {"role": Role.MEMBER})
    [role] = rows(AuditAction.ROLE_CHANGED)
    assert role.actor == world.owner and role.team_id == world.team.pk
    assert role.data == {"user": world.viewer.email, "from": Role.VIEWER, "to": Role.MEMBER}

    owner.post(reverse("teams:invite", kwargs={"pk": world.team.pk}), {"email": "new@example.com", "role": "member"})
    [sent] = rows(AuditAction.INVITATION_SENT)
    assert sent.team_id == world.team.pk and sent.data["email"] == "new@example.com"
    invitation = Invitation.objects.get(email="new@example.com")
    owner.post(reverse("teams:revoke-invitation", kwargs={"pk": invitation.pk}))
    [revoked] = rows(AuditAction.INVITATION_REVOKED)
    assert revoked.actor == world.owner

    owner.post(reverse("teams:invite", kwargs={"pk": world.team.pk}), {"email": "ann@example.com", "role": "viewer"})
    ann = UserFactory(email="ann@example.com")
    token = team_services.invitation_token(Invitation.objects.get(email="ann@example.com", revoked_at=None))
    team_services.invitation_accept(token=token, user=ann)
    [accepted] = rows(AuditAction.INVITATION_ACCEPTED)
    assert accepted.actor == ann and accepted.team_id == world.team.pk

    owner.post(reverse("teams:member-remove", kwargs={"pk": viewer_membership.pk}))
    [removed] = rows(AuditAction.MEMBER_REMOVED)
    assert removed.data["user"] == world.viewer.email

    doomed = TeamFactory(name="Doomed")
    MembershipFactory(team=doomed, user=world.owner, role=Role.OWNER)
    owner.post(reverse("teams:delete", kwargs={"pk": doomed.pk}))
    [deleted] = rows(AuditAction.TEAM_DELETED)
    assert deleted.team_label == "Doomed" and deleted.actor == world.owner


def test_credit_grant_refund_freeze_and_unfreeze_through_the_staff_pages(world, staff, media_root):  # noqa: F811
    root, _ = staff
    client = world.client_for(root)
    wallet = team_wallet(team=world.team)
    page = client.get(reverse("billing:staff-money"), {"q": "acm"}).content.decode()
    assert f'id="wallet-{wallet.pk}"' in page  # found by the team's name, no slug needed
    client.post(reverse("billing:staff-grant"), {"wallet": wallet.pk, "amount": 250, "reason": "launch bonus"})
    grant = AuditEvent.objects.get(action=AuditAction.CREDIT_GRANT, reason="launch bonus")
    assert grant.actor == root and grant.team_id == world.team.pk and grant.data["credits"] == 250
    assert grant.ip == "127.0.0.1"
    wallet.refresh_from_db()
    assert wallet.balance == 250

    ledger.wallet_freeze(wallet=wallet, reason="dispute opened")
    assert rows(AuditAction.WALLET_FROZEN)[0].reason == "dispute opened"
    client.post(reverse("billing:staff-unfreeze"), {"wallet": wallet.pk, "reason": "dispute won"})
    [unfrozen] = rows(AuditAction.WALLET_UNFROZEN)
    assert unfrozen.actor == root and unfrozen.reason == "dispute won"
    wallet.refresh_from_db()
    assert not wallet.frozen

    job = delivered_job(world)
    before = personal_wallet(user=world.member).balance
    client.post(reverse("billing:staff-refund"), {"job": str(job.pk), "reason": "render glitch"})
    client.post(reverse("billing:staff-refund"), {"job": str(job.pk), "reason": "again"})  # refunds once
    [refund] = rows(AuditAction.REFUND)
    assert refund.actor == root and refund.reason == "render glitch" and refund.data["credits"] == 20
    assert refund.team_id == world.team.pk and refund.ip == "127.0.0.1"  # the job's team; the staff member's IP
    assert personal_wallet(user=world.member).balance == before + 20


def test_policy_change_moderation_decision_appeal_and_api_token(world, staff, media_root):  # noqa: F811
    root, other = staff
    world.client_for(root).post(
        reverse("moderation:policy"),
        {"hide_until_reviewed": "on", "refund_provider_flagged": "on", "appeal_window_days": 10, "claim_minutes": 15},
    )
    [policy] = rows(AuditAction.POLICY_CHANGED)
    assert policy.actor == root and policy.data["changes"]["appeal_window_days"] == [20, 10]

    job = delivered_job(world)
    case = signal_add(job=job, source=Source.PROVIDER_NSFW, detail="flagged")
    case = case_decide(case=case, version=case.version, reviewer=root, decision=Decision.TAKE_DOWN, reason="nudity")
    [decision] = rows(AuditAction.MODERATION_DECISION)
    assert decision.actor == root and decision.team_id == world.team.pk and decision.reason == "nudity"
    appeal_file(strike=case.strike, user=world.member, message="it is art")
    [appeal] = rows(AuditAction.MODERATION_APPEAL)
    assert appeal.actor == world.member and appeal.reason == "it is art"
    case.refresh_from_db()
    appeal_decide(case=case, version=case.version, reviewer=other, overturn=False, reason="stands")
    [appeal_decision] = rows(AuditAction.MODERATION_APPEAL_DECISION)
    assert appeal_decision.actor == other and appeal_decision.data["overturned"] is False

    api_token_create(user=world.member, name="ci")
    [token] = rows(AuditAction.API_TOKEN_CREATED)
    assert token.actor == world.member and token.data["name"] == "ci"


def test_the_team_audit_page_shows_only_that_teams_rows_to_owners_and_admins(world, staff):
    ledger.grant(wallet=team_wallet(team=world.team), amount=5, reason="ours", created_by=staff[0])
    ledger.grant(wallet=team_wallet(team=world.outsider_team), amount=5, reason="theirs", created_by=staff[0])
    url = reverse("audit:team", kwargs={"team_id": world.team.pk})
    for user in (world.owner, world.admin):
        page = world.client_for(user).get(url).content.decode()
        assert "ours" in page and "theirs" not in page
    assert world.client_for(world.member).get(url).status_code == 403
    assert world.client_for(world.outsider).get(url).status_code == 404
    response = world.client_for(world.owner).get(reverse("audit:team-csv", kwargs={"team_id": world.team.pk}))
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0][:3] == ["time", "action", "actor"]
    assert [row[8] for row in table[1:]] == ["ours"]
    # Filters apply to the page and the export alike.
    filtered = world.client_for(world.owner).get(url, {"action": AuditAction.SIGN_IN}).content.decode()
    assert "ours" not in filtered and "No rows match." in filtered
    # Staff see every team's rows.
    everything = world.client_for(staff[0]).get(reverse("audit:log")).content.decode()
    assert "ours" in everything and "theirs" in everything
    assert world.client_for(world.owner).get(reverse("audit:log")).status_code == 404


def test_csv_cells_that_look_like_formulas_are_kept_as_text(world, staff):
    ledger.grant(wallet=team_wallet(team=world.team), amount=5, reason="=HYPERLINK(1)", created_by=staff[0])
    response = world.client_for(staff[0]).get(reverse("audit:log-csv"))
    body = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK(1)" in body


def test_update_and_delete_of_audit_rows_fail_at_the_database(world):
    from django.db import DatabaseError, transaction

    api_token_create(user=world.member)
    event = AuditEvent.objects.get()
    table = AuditEvent._meta.db_table
    for sql in (f"UPDATE {table} SET reason = 'x'", f"DELETE FROM {table}"):  # noqa: S608 - our own table name
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.get().pk == event.pk
