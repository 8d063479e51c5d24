"""The one writer of the audit log. Call ``audit_record`` in the same transaction as the action it records, so an
action that rolls back leaves no row, and a row always means the action happened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from studio.audit.models import AuditAction, AuditEvent
from studio.clientip import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest

    from studio.accounts.models import User
    from studio.teams.models import Team


def audit_record(
    *,
    action: AuditAction,
    actor: User | None = None,
    team: Team | None = None,
    target: models.Model | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
    ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row. ``request`` supplies the client IP (through trusted proxies) and, when ``actor`` is not
    given, the signed-in user. Labels are snapshots, so the row reads right after its actor or team is gone."""
    if request is not None:
        ip = ip or client_ip(request)
        if actor is None:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                actor = user
    target_type = target_id = target_label = ""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
        target_label = str(target)[:200]
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_label=(actor.email if actor is not None else "")[:254],
        team=team,
        team_label=(team.name if team is not None else "")[:100],
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        ip=ip,
        reason=reason,
        data=data or {},
    )
