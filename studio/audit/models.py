"""The audit log: one append-only table of security, money and moderation actions.

Rows are written only by ``studio.audit.services.audit_record`` and are never changed: the database refuses UPDATE
and DELETE (migration 0002, as the ledger does). Actor and team are kept both as a reference without a database
constraint (deleting a user or a team must not touch history) and as a label snapshot, so a row still reads right
after its actor is gone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    # Security
    SIGN_IN = "auth.sign_in", "Signed in"
    SIGN_IN_FAILED = "auth.sign_in_failed", "Failed sign-in"
    SIGN_OUT = "auth.sign_out", "Signed out"
    PASSWORD_CHANGED = "auth.password_changed", "Password changed"
    PASSWORD_RESET = "auth.password_reset", "Password reset"
    MFA_ENABLED = "auth.mfa_enabled", "MFA enabled"
    MFA_DISABLED = "auth.mfa_disabled", "MFA disabled"
    MFA_RECOVERY_CODES = "auth.mfa_recovery_codes", "MFA recovery codes regenerated"
    ACCOUNT_UNLOCKED = "auth.account_unlocked", "Account unlocked"
    # Teams
    ROLE_CHANGED = "team.role_changed", "Role changed"
    INVITATION_SENT = "team.invitation_sent", "Invitation sent"
    INVITATION_ACCEPTED = "team.invitation_accepted", "Invitation accepted"
    INVITATION_REVOKED = "team.invitation_revoked", "Invitation revoked"
    MEMBER_REMOVED = "team.member_removed", "Member removed"
    TEAM_DELETED = "team.deleted", "Team deleted"
    TEAM_POLICY_CHANGED = "team.policy_changed", "Team policy changed"
    # API
    API_TOKEN_CREATED = "api.token_created", "API token created"
    API_TOKEN_REVOKED = "api.token_revoked", "API token revoked"
    WEBHOOK_ENDPOINT_CHANGED = "api.webhook_endpoint_changed", "Webhook endpoint changed"
    # Money
    CREDIT_GRANT = "money.credit_grant", "Credits granted"
    REFUND = "money.refund", "Refund"
    WALLET_FROZEN = "money.wallet_frozen", "Wallet frozen"
    WALLET_UNFROZEN = "money.wallet_unfrozen", "Wallet unfrozen"
    # Moderation and policy
    POLICY_CHANGED = "moderation.policy_changed", "Policy changed"
    MODERATION_DECISION = "moderation.decision", "Moderation decision"
    MODERATION_APPEAL = "moderation.appeal", "Appeal filed"
    MODERATION_APPEAL_DECISION = "moderation.appeal_decision", "Appeal decided"
    RESTRICTION = "moderation.restriction", "Generation restricted or lifted"
    # Library
    VIDEO_DELETED = "library.video_deleted", "Video deleted"


class AuditEvent(models.Model):
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=60, choices=AuditAction.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, blank=True, help_text="The actor's email when the row was written.")
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    team_label = models.CharField(max_length=100, blank=True)
    target_type = models.CharField(max_length=60, blank=True, help_text="app_label.model of the target, if any.")
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True, help_text="The client's address, through trusted proxies.")
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="audit_team_recent")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} by {self.actor_label or 'system'}"
