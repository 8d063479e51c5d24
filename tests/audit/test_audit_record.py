"""The audit log's one writer, its append-only table and the client address through trusted proxies."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import RequestFactory, override_settings

from studio.audit.models import AuditAction, AuditEvent
from studio.audit.services import audit_record
from studio.clientip import client_ip
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_audit_record_snapshots_actor_team_and_target() -> None:
    user = UserFactory(email="ada@example.com")
    team = TeamFactory(name="Spring")
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    request.user = user
    row = audit_record(action=AuditAction.ROLE_CHANGED, team=team, target=user, reason="promoted", request=request)
    row.refresh_from_db()
    assert (row.actor_id, row.actor_label, row.team_label, row.ip, row.reason) == (
        user.pk,
        "ada@example.com",
        "Spring",
        "203.0.113.9",
        "promoted",
    )
    assert (row.target_type, row.target_id) == ("accounts.user", str(user.pk))


@pytest.mark.parametrize("operation", ["update", "delete"])
def test_the_database_refuses_changes_to_audit_rows(operation: str) -> None:
    row = audit_record(action=AuditAction.CREDIT_GRANT, reason="welcome")
    with pytest.raises(IntegrityError), transaction.atomic():
        if operation == "update":
            AuditEvent.objects.filter(pk=row.pk).update(reason="rewritten")
        else:
            AuditEvent.objects.filter(pk=row.pk).delete()
    assert AuditEvent.objects.get(pk=row.pk).reason == "welcome"


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, "198.51.100.7", "10.0.0.1"),  # no proxy trusted: the header is the client's own words
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # the client prepended a lie; the proxy's entry wins
        (2, "1.2.3.4, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "198.51.100.7", "198.51.100.7"),  # shorter than the chain: the leftmost is the best known
        (1, "not-an-ip", "10.0.0.1"),
        (1, "", "10.0.0.1"),
    ],
)
def test_client_ip_counts_trusted_proxies_from_the_right(trusted: int, forwarded: str, expected: str) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(TRUSTED_PROXY_COUNT=trusted):
        assert client_ip(request) == expected
