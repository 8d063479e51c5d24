"""The deployment's moderation policy: one row, created from settings (env) on first use, then edited by staff.

Settings (env): ``MODERATION_HIDE_UNTIL_REVIEWED`` (default on), ``MODERATION_REFUND_PROVIDER_FLAGGED`` (default
on), ``MODERATION_REFUND_MEMBER_REPORTED`` (default off), ``MODERATION_APPEAL_WINDOW_DAYS`` (20),
``MODERATION_CLAIM_MINUTES`` (30). A staff edit is audited (``moderation.policy_changed``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from studio.audit.models import AuditAction
from studio.audit.services import audit_record
from studio.moderation.models import Policy

if TYPE_CHECKING:
    from django.http import HttpRequest

    from studio.accounts.models import User

POLICY_FIELDS = (
    "hide_until_reviewed",
    "refund_provider_flagged",
    "refund_member_reported",
    "appeal_window_days",
    "claim_minutes",
)


def _defaults() -> dict[str, Any]:
    return {
        "hide_until_reviewed": settings.MODERATION_HIDE_UNTIL_REVIEWED,
        "refund_provider_flagged": settings.MODERATION_REFUND_PROVIDER_FLAGGED,
        "refund_member_reported": settings.MODERATION_REFUND_MEMBER_REPORTED,
        "appeal_window_days": settings.MODERATION_APPEAL_WINDOW_DAYS,
        "claim_minutes": settings.MODERATION_CLAIM_MINUTES,
    }


def policy_get() -> Policy:
    policy, _ = Policy.objects.get_or_create(pk=1, defaults=_defaults())
    return policy


@transaction.atomic
def policy_update(*, actor: User, request: HttpRequest | None = None, **values: Any) -> Policy:
    """Change the policy; audited with the before/after of each changed field. Unknown fields raise."""
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"Unknown policy fields: {sorted(unknown)}")
    policy = Policy.objects.select_for_update().get(pk=policy_get().pk)
    changes = {name: [getattr(policy, name), value] for name, value in values.items() if getattr(policy, name) != value}
    if not changes:
        return policy
    for name, (_, value) in changes.items():
        setattr(policy, name, value)
    policy.updated_by = actor
    policy.updated_at = timezone.now()
    policy.save()
    audit_record(
        action=AuditAction.POLICY_CHANGED, actor=actor, target=policy, request=request, data={"changes": changes}
    )
    return policy
