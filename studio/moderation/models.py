"""Moderation: one case per target, the signals that raised it, a history row per action, strikes and appeals.

Shape after Discourse's reviewables (one reviewable per target, a score summed from its signals, ``claimed_by`` so
two reviewers don't work the same item, ``version`` for compare-and-set) and Mastodon's strikes and appeals (a
decision the creator can see; one appeal per decision, within a window, decided by a named moderator).

- ``Case``: unique per target (a generation job or an asset). ``state`` and ``version`` change only through
  ``studio.moderation.services`` by ``filter(pk=…, version=v).update(version=v + 1, …)``: of two reviewers acting at
  once exactly one changes the row; the other is told the case was already decided.
- ``Signal``: one per source event (a provider refusal, an NSFW flag, a pre-screen hit, a member's report) with its
  weight; ``Case.score`` is their sum and the queue sorts by it, then by age.
- ``CaseHistory``: one row per action (opened, signal, claim, decision, appeal), never edited.
- ``Strike``: a takedown recorded against the creator; ``Appeal``: at most one per strike.
- ``Restriction``: staff stop a user or a whole team from generating, with a reason the composer shows.
- ``Policy``: the deployment's policy (one row; defaults from settings), ``ScreenTerm``: the prompt pre-screen.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Source(models.TextChoices):
    PROVIDER_REFUSAL = "provider_refusal", "Provider refusal"
    PROVIDER_NSFW = "provider_nsfw", "Provider NSFW flag"
    PRESCREEN = "prescreen", "Prompt pre-screen"
    MEMBER_REPORT = "member_report", "Member report"


#: Sources that make a delivered video hidden from its team until a reviewer approves it (policy permitting).
HIDING_SOURCES = frozenset({Source.PROVIDER_NSFW, Source.PRESCREEN})
#: Sources for which a takedown refunds by default (a member's report keeps the charge by default).
REFUND_BY_DEFAULT_SOURCES = frozenset({Source.PROVIDER_REFUSAL, Source.PROVIDER_NSFW, Source.PRESCREEN})

DEFAULT_WEIGHTS: dict[str, int] = {
    Source.PROVIDER_REFUSAL: 10,
    Source.PROVIDER_NSFW: 8,
    Source.PRESCREEN: 5,
    Source.MEMBER_REPORT: 3,
}


class CaseState(models.TextChoices):
    OPEN = "open", "Open"
    CONTEXT_REQUESTED = "context", "Waiting for the team's context"
    APPROVED = "approved", "Approved"
    TAKEN_DOWN = "taken_down", "Taken down"
    DISMISSED = "dismissed", "Report dismissed"
    APPEALED = "appealed", "Appealed"


#: States a reviewer may decide from (the queue's "open" cases).
UNDECIDED = (CaseState.OPEN, CaseState.CONTEXT_REQUESTED, CaseState.APPEALED)


class ChargeOutcome(models.TextChoices):
    NONE = "", "—"
    RELEASED = "released", "Hold released (the provider refused it)"
    CHARGED = "charged", "Charged"
    REFUNDED = "refunded", "Refunded"
    KEPT = "kept", "Charge kept"


class Case(models.Model):
    job = models.OneToOneField(
        "generations.GenerationJob", null=True, blank=True, on_delete=models.CASCADE, related_name="moderation_case"
    )
    asset = models.OneToOneField(
        "assets.Asset", null=True, blank=True, on_delete=models.CASCADE, related_name="moderation_case"
    )
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="moderation_cases")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="moderation_cases"
    )
    provider = models.CharField(max_length=20, blank=True, db_index=True)
    state = models.CharField(max_length=12, choices=CaseState.choices, default=CaseState.OPEN, db_index=True)
    score = models.IntegerField(default=0)
    version = models.PositiveIntegerField(default=0)
    hidden = models.BooleanField(default=False, help_text="The target is hidden from its team until reviewed.")
    provider_verdict = models.TextField(blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    charge_outcome = models.CharField(max_length=10, choices=ChargeOutcome.choices, blank=True)
    context_request = models.TextField(blank=True)
    context_reply = models.TextField(blank=True)
    #: Where a taken-down video and poster wait (``quarantine/…``) until the appeal window closes.
    quarantine = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-score", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(job__isnull=False, asset__isnull=True)
                | models.Q(job__isnull=True, asset__isnull=False),
                name="moderation_case_one_target",
            )
        ]
        indexes = [models.Index(fields=["state", "-score", "created_at"], name="moderation_queue_order")]

    def __str__(self) -> str:
        return f"Case {self.pk} ({self.get_state_display()})"

    @property
    def is_undecided(self) -> bool:
        return self.state in UNDECIDED

    @property
    def is_appeal(self) -> bool:
        return self.state == CaseState.APPEALED

    def sources(self) -> list[str]:
        return sorted({signal.source for signal in self.signals.all()})


class Signal(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="signals")
    source = models.CharField(max_length=20, choices=Source.choices, db_index=True)
    weight = models.PositiveIntegerField(default=1)
    detail = models.TextField(blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One report per member per case: a second click does not raise the score again.
            models.UniqueConstraint(
                fields=["case", "reporter"],
                condition=models.Q(source="member_report"),
                name="moderation_one_report_per_member",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} (+{self.weight})"


class CaseHistory(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="history")
    action = models.CharField(max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    version = models.PositiveIntegerField(default=0)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "case history"

    def __str__(self) -> str:
        return f"{self.action} ({self.from_state} → {self.to_state})"


class Strike(models.Model):
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="strike")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strikes")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="strikes")
    reason = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    appeal_until = models.DateTimeField()
    overturned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Strike on {self.user} ({self.created_at:%Y-%m-%d})"

    @property
    def may_appeal(self) -> bool:
        return self.overturned_at is None and timezone.now() <= self.appeal_until and not hasattr(self, "appeal")


class AppealState(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    UPHELD = "upheld", "Decision upheld"
    OVERTURNED = "overturned", "Overturned"


class Appeal(models.Model):
    #: One appeal per decision, enforced by the database.
    strike = models.OneToOneField(Strike, on_delete=models.CASCADE, related_name="appeal")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.TextField()
    state = models.CharField(max_length=10, choices=AppealState.choices, default=AppealState.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Appeal of {self.strike} ({self.get_state_display()})"


class Restriction(models.Model):
    """A user (``user``) or a whole team (``team``) may not generate while a row is active (not lifted)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="restrictions"
    )
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="restrictions")
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, team__isnull=True)
                | models.Q(user__isnull=True, team__isnull=False),
                name="moderation_restriction_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"Restriction of {self.user or self.team}"


class TermAction(models.TextChoices):
    BLOCK = "block", "Block (refuse before any hold)"
    FLAG = "flag", "Flag (submit, open a case)"


class ScreenTerm(models.Model):
    """One pre-screen term, matched case-insensitively as a whole word (or phrase) in the prompt."""

    term = models.CharField(max_length=100, unique=True)
    action = models.CharField(max_length=5, choices=TermAction.choices)
    reason = models.CharField(max_length=200, blank=True, help_text="Shown to the creator when the term blocks.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["term"]

    def __str__(self) -> str:
        return f"{self.term} ({self.action})"


class Policy(models.Model):
    """The deployment's moderation policy: one row (pk 1), created from settings on first use, edited by staff."""

    hide_until_reviewed = models.BooleanField(default=True)
    refund_provider_flagged = models.BooleanField(default=True)
    refund_member_reported = models.BooleanField(default=False)
    appeal_window_days = models.PositiveSmallIntegerField(default=20)
    claim_minutes = models.PositiveSmallIntegerField(default=30)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "policy"

    def __str__(self) -> str:
        return "Moderation policy"
