"""Selectors: read-only queries for pages. Every one starts from ``studio.teams.access.visible_to``/``get_for_user``.

``visible_jobs`` is THE visibility rule for videos: the project library, the team's "All videos", the job page, the
status refresh, bulk actions and asset lineage all read through it. A rule that hides videos (deleted ones today;
"hidden until reviewed" from moderation) is added there, once, and applies everywhere.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from generations.models import Favourite, GenerationJob, JobReference, ModeChoice
from generations.states import TERMINAL, State
from studio.teams import access
from studio.teams.access import Perm

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from studio.accounts.models import User
    from studio.assets.models import Asset
    from studio.projects.models import Project
    from studio.teams.models import Team

#: The states a library shows, as an IN list: ``exclude(state="draft")`` cannot use the (project, state, -created_at)
#: index, ``state IN (...)`` can.
LIBRARY_STATES: tuple[str, ...] = tuple(state for state in State.values if state != State.DRAFT)
ACTIVE_STATES: tuple[str, ...] = tuple(state for state in LIBRARY_STATES if state not in TERMINAL)
STATE_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "active": ("In progress", ACTIVE_STATES),
    "succeeded": ("Ready", (State.SUCCEEDED,)),
    "failed": ("Failed", (State.FAILED, State.EXPIRED)),
    "moderated": ("Blocked by moderation", (State.MODERATED,)),
    "canceled": ("Canceled", (State.CANCELED,)),
}
PAGE_SIZE = 24
MAX_PAGE_SIZE = 100


def visible_jobs(
    user: User | AnonymousUser, queryset: QuerySet[GenerationJob] | None = None
) -> QuerySet[GenerationJob]:
    """The jobs ``user`` may see (module docstring: every read of videos goes through here)."""
    base = queryset if queryset is not None else GenerationJob.objects.all()
    return access.visible_to(user, base).filter(deleted_at__isnull=True)


def job_for_user(user: User | AnonymousUser, pk: UUID | str, *, perm: Perm = Perm.VIEW) -> GenerationJob:
    """One job the user may see (404 for outsiders and for hidden jobs, 403 when the role lacks ``perm``)."""
    related = ("project", "team", "creator", "parent", "moderation_case")
    queryset = visible_jobs(user, GenerationJob.objects.select_related(*related))
    return access.get_for_user(user, queryset, perm=perm, pk=pk)


MAX_SELECTION = 1000


def _uuids(ids: Iterable[str], limit: int) -> list[UUID]:
    clean: list[UUID] = []
    for value in ids:
        try:
            clean.append(UUID(str(value)))
        except ValueError:
            continue
        if len(clean) >= limit:
            break
    return clean


def jobs_by_ids(user: User | AnonymousUser, team: Team, ids: Iterable[str]) -> QuerySet[GenerationJob]:
    """The selected jobs of ``team`` that ``user`` may see (bulk actions); unknown or foreign ids are dropped."""
    return visible_jobs(user, GenerationJob.objects.filter(team=team, pk__in=_uuids(ids, MAX_SELECTION)))


# --- The library: filters, search, keyset pages ------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryFilters:
    """What the library shows, parsed from the query string (so a view can be shared as a link)."""

    q: str = ""
    state: str = ""
    mode: str = ""
    provider: str = ""
    resolution: str = ""
    creator: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    favourites: bool = False

    @classmethod
    def from_query(cls, params: Any) -> LibraryFilters:
        def date(name: str) -> dt.date | None:
            try:
                return dt.date.fromisoformat(str(params.get(name, ""))[:10])
            except ValueError:
                return None

        creator_raw = str(params.get("creator", ""))
        creator = int(creator_raw) if creator_raw.isdigit() and len(creator_raw) < 12 else None
        state = str(params.get("state", ""))
        mode = str(params.get("mode", ""))
        return cls(
            q=" ".join(str(params.get("q", "")).replace("\x00", "").split())[:200],
            state=state if state in STATE_FILTERS else "",
            mode=mode if mode in ModeChoice.values else "",
            provider=str(params.get("provider", ""))[:20],
            resolution=str(params.get("resolution", ""))[:5],
            creator=creator,
            date_from=date("from"),
            date_to=date("to"),
            favourites=params.get("fav") == "1",
        )

    @property
    def is_filtered(self) -> bool:
        return any(
            (self.q, self.state, self.mode, self.provider, self.resolution, self.creator, self.date_from, self.date_to)
        ) or bool(self.favourites)


@dataclass
class LibraryPage:
    jobs: list[GenerationJob]
    next_cursor: str = ""
    prev_cursor: str = ""
    filters: LibraryFilters = field(default_factory=LibraryFilters)

    @property
    def has_active(self) -> bool:
        return any(not job.is_terminal for job in self.jobs)


def encode_cursor(job: GenerationJob) -> str:
    raw = f"{job.created_at.isoformat()}|{job.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[dt.datetime, UUID] | None:
    """(created_at, id) of a cursor; None for anything that is not one of ours (the first page is shown)."""
    if not value or len(value) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        when, _, pk = raw.partition("|")
        created = dt.datetime.fromisoformat(when)
        if created.tzinfo is None:
            return None
        return created, UUID(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _search(queryset: QuerySet[GenerationJob], query: str) -> QuerySet[GenerationJob]:
    """Prompt search: PostgreSQL full-text (English stemming, web-search syntax); a plain contains elsewhere."""
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        return queryset.annotate(_search=SearchVector("prompt", config="english")).filter(
            _search=SearchQuery(query, config="english", search_type="websearch")
        )
    return queryset.filter(prompt__icontains=query)


def library_queryset(
    user: User | AnonymousUser,
    *,
    team: Team,
    project: Project | None,
    filters: LibraryFilters,
    join_creator: bool = True,
) -> QuerySet[GenerationJob]:
    """The library's rows before paging: the visible jobs of ``project`` (or the whole team), filtered."""
    states = STATE_FILTERS[filters.state][1] if filters.state else LIBRARY_STATES
    base = (
        GenerationJob.objects.filter(project=project)
        if project is not None
        else GenerationJob.objects.filter(team=team)
    )
    queryset = visible_jobs(user, base.filter(state__in=states))
    if filters.mode:
        queryset = queryset.filter(mode=filters.mode)
    if filters.provider:
        queryset = queryset.filter(provider=filters.provider)
    if filters.resolution:
        queryset = queryset.filter(resolution=filters.resolution)
    if filters.creator:
        queryset = queryset.filter(creator_id=filters.creator)
    if filters.date_from:
        queryset = queryset.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        queryset = queryset.filter(created_at__date__lte=filters.date_to)
    favourite = Favourite.objects.filter(job=OuterRef("pk"), user_id=user.pk or 0)
    queryset = queryset.annotate(is_favourite=Exists(favourite))
    if filters.favourites:
        queryset = queryset.filter(is_favourite=True)
    if filters.q:
        queryset = _search(queryset, filters.q)
    # A project's library shows one project: its jobs get the caller's ``project`` object (``library_page``) instead of
    # a join and a Project instance per row.
    related = ("moderation_case",) if project is not None else ("project", "moderation_case")
    return queryset.select_related(*(("creator", *related) if join_creator else related))


def library_page(
    user: User | AnonymousUser,
    *,
    team: Team,
    project: Project | None = None,
    filters: LibraryFilters | None = None,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
    only: tuple[str, ...] = (),
    people: Mapping[int, tuple[str, str]] | None = None,
) -> LibraryPage:
    """One keyset page of the library, newest first. ``after``: the page older than that cursor; ``before``: the page
    newer than it. One query per page whatever the library's size (the cursor is a (created_at, id) seek).

    The plain ``created_at`` bound next to the (created_at, id) comparison is redundant for the result but lets
    PostgreSQL start the index scan (``generation_project_recent``/``generation_team_recent``) at the cursor instead
    of reading every newer row and filtering them out: a deep page costs what the first one does.

    ``only``: the fields the caller will read (``generations.cards.FIELDS`` for library cards), when it wants fewer
    than every column of the job and its joined creator, project and case.

    In a project's library every job's ``project`` is ``project`` itself (the caller read it with its access check):
    the rows are not joined to the project table and each job is handed that object (``_with_project``), which saves
    building a Project per row (~15 µs each) and a join.

    ``people``: the team's members' (email, name) by user id (``studio.teams.directory``, cached), when the caller has
    them: the rows are not joined to the user table either, and the jobs of one creator share one User holding those
    fields (``_with_creators``); creators who are no longer members are read in one query."""
    filters = filters or LibraryFilters()
    size = max(1, min(size, MAX_PAGE_SIZE))
    queryset = library_queryset(user, team=team, project=project, filters=filters, join_creator=people is None)
    if only:
        if project is not None:
            only = tuple(name for name in only if not name.startswith("project__"))
        if people is not None:
            only = tuple(name for name in only if not name.startswith("creator__"))
        queryset = queryset.only(*only)
    newer = decode_cursor(before) if before else None
    older = decode_cursor(after) if after and newer is None else None
    if newer is not None:
        when, pk = newer
        newer_rows = queryset.filter(created_at__gte=when).filter(
            Q(created_at__gt=when) | Q(created_at=when, pk__gt=pk)
        )
        rows = list(newer_rows.order_by("created_at", "pk")[: size + 1])
        has_more_newer = len(rows) > size
        jobs = _with_creators(_with_project(list(reversed(rows[:size])), project), people)
        return LibraryPage(
            jobs=jobs,
            next_cursor=encode_cursor(jobs[-1]) if jobs else "",
            prev_cursor=encode_cursor(jobs[0]) if jobs and has_more_newer else "",
            filters=filters,
        )
    if older is not None:
        when, pk = older
        queryset = queryset.filter(created_at__lte=when).filter(Q(created_at__lt=when) | Q(created_at=when, pk__lt=pk))
    rows = list(queryset.order_by("-created_at", "-pk")[: size + 1])
    jobs = _with_creators(_with_project(rows[:size], project), people)
    return LibraryPage(
        jobs=jobs,
        next_cursor=encode_cursor(jobs[-1]) if len(rows) > size else "",
        prev_cursor=encode_cursor(jobs[0]) if older is not None and jobs else "",
        filters=filters,
    )


def _with_project(jobs: list[GenerationJob], project: Project | None) -> list[GenerationJob]:
    """``jobs`` (all of ``project``, when given) with ``job.project`` set to that object, as select_related would."""
    if project is not None:
        field = GenerationJob._meta.get_field("project")
        for job in jobs:
            field.set_cached_value(job, project)
    return jobs


def _with_creators(jobs: list[GenerationJob], people: Mapping[int, tuple[str, str]] | None) -> list[GenerationJob]:
    """``jobs`` with ``job.creator`` set, as select_related would, from ``people`` (id → (email, name)): one User per
    creator, holding only its id, email and name, as ``.only("id", "email", "name")`` would load it (the other fields
    are deferred, so saving one could not overwrite them). Creators missing from ``people`` are read in one query."""
    if people is None:
        return jobs
    from studio.accounts.models import User

    users: dict[int, Any] = {}
    missing = {job.creator_id for job in jobs if job.creator_id not in people}
    if missing:
        users.update((u.pk, u) for u in User.objects.filter(pk__in=missing).only("id", "email", "name"))
    field = GenerationJob._meta.get_field("creator")
    for job in jobs:
        creator = users.get(job.creator_id)
        if creator is None and job.creator_id in people:
            email, name = people[job.creator_id]
            fields, values = ["id", "email", "name"], [job.creator_id, email, name]
            creator = users[job.creator_id] = User.from_db(job._state.db, fields, values)
        if creator is not None:
            field.set_cached_value(job, creator)
    return jobs


def active_cards(user: User | AnonymousUser, ids: Iterable[str]) -> list[GenerationJob]:
    """The status refresh: only the cards that were still running (at most one page's worth), one query."""
    favourite = Favourite.objects.filter(job=OuterRef("pk"), user_id=user.pk or 0)
    return list(
        visible_jobs(user, GenerationJob.objects.filter(pk__in=_uuids(ids, MAX_PAGE_SIZE)))
        .annotate(is_favourite=Exists(favourite))
        .select_related("creator", "project", "moderation_case")
        .order_by("-created_at", "-pk")
    )


def project_jobs(user: User | AnonymousUser, project: Project, *, limit: int = PAGE_SIZE) -> list[GenerationJob]:
    """The project's newest jobs (kept for callers that want a plain list)."""
    return library_page(user, team=project.team, project=project, size=limit).jobs


def job_events(job: GenerationJob) -> QuerySet[Any]:
    return job.events.select_related("actor").order_by("at", "id")


# --- Reference lineage ------------------------------------------------------------------------------------------


def asset_lineage(user: User | AnonymousUser, asset: Asset, *, limit: int = 50) -> list[JobReference]:
    """The videos that used ``asset`` (newest first) with the ``ref_name`` and type each used: one query."""
    jobs = visible_jobs(user, GenerationJob.objects.filter(team_id=asset.team_id, state__in=LIBRARY_STATES))
    return list(
        JobReference.objects.filter(asset=asset, job__in=jobs)
        .select_related("job", "job__project", "job__creator")
        .order_by("-job__created_at", "-job_id")[:limit]
    )


# --- Why a job is waiting ---------------------------------------------------------------------------------------


def _provider_label(name: str) -> str:
    from generations.providers.registry import ADAPTERS

    adapter = ADAPTERS.get(name)
    return str(getattr(adapter, "label", name or "the provider"))


def _error_words(code: str) -> str:
    if code.isdigit():
        return f"HTTP {code}"
    return {"500044": "all its slots are busy (500044)", "429": "too many requests (HTTP 429)"}.get(code, code)


def queue_position(job: GenerationJob) -> int:
    """How many queued jobs for the same provider are ahead of ``job`` (slots are handed out oldest first)."""
    if job.state != State.QUEUED or not job.provider:
        return 0
    since = job.queued_at or job.created_at
    return (
        GenerationJob.objects.filter(provider=job.provider, state=State.QUEUED, queued_at__lt=since)
        .exclude(pk=job.pk)
        .count()
    )


def wait_reason(job: GenerationJob) -> str:
    """Why ``job`` is not finished yet, in words (the job page); "" for finished jobs."""
    from django.utils import formats, timezone

    from generations import slots
    from generations.routing import circuit_is_open
    from generations.services import config
    from generations.services.submit import give_up_at, unknown_message

    if job.is_terminal:
        return ""
    label = _provider_label(job.provider)
    if job.cancel_requested and job.state in (State.SUBMITTED, State.RUNNING, State.DOWNLOADING):
        return f"Cancel requested: {label} is still rendering; the charge follows its outcome."
    if job.state == State.QUEUED:
        if job.error_code and job.submit_attempts:
            when = timezone.localtime(job.not_before) if job.not_before else None
            at = f" at {formats.time_format(when, 'H:i')}" if when else ""
            stop = formats.time_format(timezone.localtime(give_up_at(job)), "H:i")
            return (
                f"{label} is refusing requests ({_error_words(job.error_code)}): retry {job.submit_attempts + 1} of "
                f"{config.max_submit_attempts()}{at}, your credits stay held. If it still refuses at {stop}, we stop "
                "and return your credits."
            )
        if circuit_is_open(job.provider):
            return f"{label} is failing for everyone right now; your job waits for it to recover, credits held."
        ahead = queue_position(job)
        ahead_words = f"{ahead} ahead of you" if ahead else "you are next"
        if slots.in_flight(job.provider) >= slots.slot_limit(job.provider):
            return f"Waiting for a free {label} slot ({ahead_words})."
        return f"About to be sent to {label} ({ahead_words})."
    if job.state == State.SUBMITTING:
        return f"Sending the request to {label}…"
    if job.state == State.SUBMITTED:
        return f"{label} accepted the job and is about to start rendering."
    if job.state == State.RUNNING:
        return f"{label} is rendering the video."
    if job.state == State.UNKNOWN:
        return unknown_message(job.provider)
    if job.state == State.DOWNLOADING:
        return "The video is ready at the provider; saving it to your library."
    return ""
