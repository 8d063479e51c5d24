"""Generation jobs and their bookkeeping rows.

- ``GenerationJob``: one request for one video. Its UUID is also the idempotency key sent to the provider. The
  ``state`` field is written only by ``generations.states.transition`` (compare-and-set + an event row).
- ``JobReference``: the assets a job uses, in order (i2v: exactly one; r2v: 1–7 named references; t2v: none).
- ``GenerationEvent``: one row per state change (the job's audit trail).
- ``ProviderAttempt``: one row per HTTP exchange with a provider (from the HTTP seam's exchange hook; no secrets).
- ``ProviderAccount``: one row per provider account: the row locked while slots are counted, and the circuit breaker.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from generations.providers.base import Mode
from generations.states import AT_PROVIDER, TERMINAL, State

AUTO = "auto"


class ModeChoice(models.TextChoices):
    IMAGE_TO_VIDEO = Mode.IMAGE_TO_VIDEO.value, "Image to video"
    REFERENCE_TO_VIDEO = Mode.REFERENCE_TO_VIDEO.value, "Reference to video"
    TEXT_TO_VIDEO = Mode.TEXT_TO_VIDEO.value, "Text to video"


class Lineage(models.TextChoices):
    NONE = "", "—"
    RETRY = "retry", "Re-run"
    REMIX = "remix", "Remix"


def _output_path(instance: GenerationJob, filename: str) -> str:
    return f"generations/{instance.team_id}/{instance.pk}.mp4"


def _poster_path(instance: GenerationJob, filename: str) -> str:
    return f"generations/{instance.team_id}/{instance.pk}-poster.jpg"


class GenerationJob(models.Model):
    """One video generation. See ``generations.states`` for the lifecycle and ``generations.services`` for writers.

    Money invariant: a job that left ``draft`` has exactly one ``hold``; the hold is captured (``succeeded``, or a
    cancel after the provider produced the video) or released (every other terminal state) exactly once, in the same
    transaction as the state change that ends the job.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="generation_jobs")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="generation_jobs")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="generation_jobs")

    # What to generate (DESIGN.md §6 names).
    mode = models.CharField(max_length=3, choices=ModeChoice.choices)
    model = models.CharField(max_length=20, default="c1")
    prompt = models.TextField(blank=True, max_length=2048)
    negative_prompt = models.TextField(blank=True, max_length=2048)
    resolution = models.CharField(max_length=5, default="720p")
    duration = models.PositiveSmallIntegerField(default=5)
    aspect_ratio = models.CharField(max_length=5, blank=True)
    generate_audio_switch = models.BooleanField(default=False)
    seed = models.PositiveBigIntegerField(null=True, blank=True)
    assets = models.ManyToManyField("assets.Asset", through="JobReference", related_name="generation_jobs")

    # Routing.
    provider_requested = models.CharField(max_length=20, default=AUTO)
    provider = models.CharField(max_length=20, blank=True, db_index=True)
    routing_reason = models.CharField(max_length=500, blank=True)
    providers_refused = models.JSONField(default=list, blank=True)

    # Provider identity. The job's UUID is the idempotency key; the provider's trace id (PixVerse Ai-trace-id) and
    # job id are stored as soon as they are known.
    provider_job_id = models.CharField(max_length=100, blank=True, db_index=True)
    provider_trace_id = models.CharField(max_length=100, blank=True)
    provider_output_url = models.TextField(blank=True)
    provider_output_expires_at = models.DateTimeField(null=True, blank=True)

    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT, db_index=True)
    cancel_requested = models.BooleanField(default=False)

    # Money.
    quoted_credits = models.PositiveIntegerField(default=0)
    rate_card_version = models.PositiveIntegerField(null=True, blank=True)
    hold = models.ForeignKey("billing.Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    billed_seconds = models.FloatField(null=True, blank=True)
    #: What the provider itself reports it charged, in its own credits (PixVerse ``Resp.credits``); ``None`` when it
    #: does not say. Provider-bill reconciliation compares it with the price table (``generations.provider_bills``).
    provider_credits = models.PositiveIntegerField(null=True, blank=True)
    charged_credits = models.PositiveIntegerField(null=True, blank=True)

    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)

    # The result, in our storage.
    output = models.FileField(upload_to=_output_path, max_length=255, blank=True)
    poster = models.FileField(upload_to=_poster_path, max_length=255, blank=True)
    video_codec = models.CharField(max_length=20, blank=True)
    video_width = models.PositiveIntegerField(null=True, blank=True)
    video_height = models.PositiveIntegerField(null=True, blank=True)
    video_duration = models.FloatField(null=True, blank=True)
    has_audio = models.BooleanField(null=True, blank=True)
    output_size = models.PositiveBigIntegerField(null=True, blank=True)

    # Scheduling. ``not_before`` delays a requeued job (Retry-After); ``poll_seq`` makes the self-rescheduling poll
    # chain single: a poll task carries the sequence it was scheduled with and does nothing if it is stale.
    not_before = models.DateTimeField(null=True, blank=True)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    submit_sent_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    poll_seq = models.PositiveIntegerField(default=0)
    poll_count = models.PositiveIntegerField(default=0)
    poll_errors = models.PositiveSmallIntegerField(default=0)
    # Seconds from submit to the poll that saw the provider finish: the history the poll schedule learns from.
    render_seconds = models.FloatField(null=True, blank=True)
    # ± how precise that is: half the gap between the last poll that saw the job running and the one that saw it done.
    render_margin_seconds = models.FloatField(null=True, blank=True)
    finalize_attempts = models.PositiveSmallIntegerField(default=0)

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    lineage = models.CharField(max_length=10, choices=Lineage.choices, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    # Deleted from the library by a person: files removed, the row (and its ledger history) kept, hidden everywhere.
    deleted_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["provider", "state"]),
            models.Index(fields=["state", "next_poll_at"]),
            models.Index(fields=["project", "state", "-created_at"]),
            # The team-wide "All videos" page reads by team in the same order.
            models.Index(fields=["team", "state", "-created_at"], name="generations_team_state_recent"),
            # The library's first page and every keyset page (generations/selectors.py:library_page): newest first
            # over all shown states. The (…, state, -created_at) indexes above cannot give that order for an IN list
            # of states, so PostgreSQL sorted every row of the project (17 ms for 10,000 videos); these read the
            # 25 newest rows in index order and stop. ``deleted_at IS NULL`` is in every library read (visible_jobs).
            models.Index(
                fields=["project", "-created_at", "-id"],
                condition=models.Q(deleted_at__isnull=True),
                name="generation_project_recent",
            ),
            models.Index(
                fields=["team", "-created_at", "-id"],
                condition=models.Q(deleted_at__isnull=True),
                name="generation_team_recent",
            ),
            # The poll sweep's claim: due jobs at the provider, oldest due first (generations/services/poll.py).
            models.Index(
                fields=["next_poll_at"],
                condition=models.Q(state__in=["submitted", "running"]),
                name="generation_poll_due",
            ),
            # The schedule's history of similar jobs (poll.expected_render).
            models.Index(
                fields=["provider", "mode", "resolution", "duration", "-submitted_at"],
                condition=models.Q(render_seconds__isnull=False),
                name="generation_render_history",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} {self.pk} ({self.state})"

    @property
    def idempotency_key(self) -> str:
        return str(self.pk)

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def is_at_provider(self) -> bool:
        return self.state in AT_PROVIDER


class JobReference(models.Model):
    """One input image of a job, in order. ``ref_name``/``type`` are copied so the job survives asset edits."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="references")
    # SET_NULL: deleting an asset must not delete videos made from it; a job still waiting for it fails at submit.
    asset = models.ForeignKey("assets.Asset", null=True, on_delete=models.SET_NULL, related_name="job_references")
    ref_name = models.CharField(max_length=30)
    type = models.CharField(max_length=10, default="subject")
    order = models.PositiveSmallIntegerField(default=0)
    # A snapshot of the asset's name, written when the asset is deleted: the record of what the video used.
    asset_label = models.CharField(max_length=160, blank=True)

    class Meta:
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(fields=["job", "order"], name="generations_reference_order_unique"),
            models.UniqueConstraint(fields=["job", "ref_name"], name="generations_reference_name_unique"),
        ]

    def __str__(self) -> str:
        return f"@{self.ref_name} ({self.type})"


class GenerationEvent(models.Model):
    """One state change of a job, written by ``generations.states.transition`` in the same transaction."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12, choices=State.choices)
    to_state = models.CharField(max_length=12, choices=State.choices)
    note = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state}"


class ProviderAttempt(models.Model):
    """One HTTP exchange with a provider for a job (method, path, status, latency, error class — never secrets)."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="attempts")
    provider = models.CharField(max_length=20)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error_class = models.CharField(max_length=60, blank=True)
    is_create = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code}"


class ProviderAccount(models.Model):
    """One provider account. Locked (``select_for_update``) while its free slots are counted and claimed; also holds
    the circuit breaker: ``consecutive_failures`` transient refusals in a row open it until ``open_until``."""

    name = models.CharField(max_length=20, unique=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class Favourite(models.Model):
    """A user's favourite video (the library's "Favourites" filter). Per user: a favourite is a personal marker."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourite_videos")
    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "job"], name="generations_favourite_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.job_id}"


class ZipExportState(models.TextChoices):
    PENDING = "pending", "Waiting"
    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


def _export_path(instance: ZipExport, filename: str) -> str:
    return f"exports/{instance.team_id}/{instance.pk}.zip"


class ZipExport(models.Model):
    """A large multi-select download, built into storage by a Celery task (small ones are streamed at once)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="zip_exports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="zip_exports")
    job_ids = models.JSONField(default=list)
    name = models.CharField(max_length=120)
    state = models.CharField(max_length=10, choices=ZipExportState.choices, default=ZipExportState.PENDING)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=_export_path, max_length=255, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class IdempotencyKey(models.Model):
    """The first successful response to ``POST /api/v1/generations`` under one ``Idempotency-Key`` (per user and
    team), with the hash of its body: a repeat with the same body gets the same response, another body a 422. Written
    in the same transaction as the job, so a key exists exactly when its job does."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    job = models.ForeignKey(GenerationJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status_code = models.PositiveSmallIntegerField(default=0)
    # The body as sent (text, not JSON: jsonb would reorder keys and a replay must be byte-for-byte the same).
    response = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team", "key"], name="generations_idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class ProviderPriceTable(models.Model):
    """A provider's public C1 price list, in USD, versioned: a change is a new version, effective from a date.

    Staff edit it in the admin. ``usd_per_credit`` converts a provider that bills in its own credits (PixVerse:
    $1 = 200 credits) so its reported charge can be compared in USD.
    """

    provider = models.CharField(max_length=20)
    version = models.PositiveIntegerField()
    effective_from = models.DateField()
    usd_per_credit = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    source = models.CharField(max_length=300, blank=True, help_text="Where the prices were read.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["provider", "-effective_from", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "version"], name="generations_price_table_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.provider} prices v{self.version} from {self.effective_from}"


class ProviderPrice(models.Model):
    """USD per second of output for one resolution and audio setting."""

    table = models.ForeignKey(ProviderPriceTable, on_delete=models.CASCADE, related_name="prices")
    resolution = models.CharField(max_length=8)
    audio = models.BooleanField(default=False)
    usd_per_second = models.DecimalField(max_digits=10, decimal_places=4)

    class Meta:
        ordering = ["table", "resolution", "audio"]
        constraints = [
            models.UniqueConstraint(fields=["table", "resolution", "audio"], name="generations_price_cell_unique"),
            models.CheckConstraint(condition=models.Q(usd_per_second__gte=0), name="generations_price_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.resolution}{' audio' if self.audio else ''}: ${self.usd_per_second}/s"
