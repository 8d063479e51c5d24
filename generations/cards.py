"""Library cards: each card's display values, computed once in Python, and its HTML (``render_card``, printed by
``{% library_cards %}`` in ``generations/_library.html`` and ``_library_refresh.html``).

A library page renders 24 cards. Written as template lookups (``job.creator.display_name``, ``job.get_state_display``,
``job|video_visible_to:request.user`` three times, two ``date`` filters, ``{% if job.charged_credits is not None %}``,
…) a card cost ~0.25 ms: about 35 variable resolutions, each trying ``obj[key]``, then ``getattr``, then calling
the result. A ``Card`` holds the finished strings and flags, and ``render_card`` prints them into the card's markup
with one ``str.format`` (``CARD_HTML`` says why not a template): the same HTML for a fraction of the cost.

The rules stay where they were: video visibility is ``studio.moderation.visibility.video_hidden_for``, file URLs are
``studio.files.signed_url``, download names ``generations.services.library.download_name``. Every value comes from
the job row and the relations the library's selectors join (creator, project, moderation case), so building cards
runs no query (a test counts them).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.dates import MONTHS_3

from generations.models import GenerationJob
from generations.services.library import download_name
from generations.templatetags.generation_tags import card_title, job_url, state_badge
from studio.files import signed_url
from studio.moderation.visibility import video_hidden_for

#: The columns a card reads (``build_card``, ``moderation/_card.html`` through ``{% moderation_card %}``, the page's
#: cursor and status refresh): the library loads these instead of ~60 job columns plus every column of the creator,
#: project and case. A field read here but missing from this list would cost a query per card; the query-count test
#: in tests/generations/test_library_queries.py renders cards of every kind to catch that.
FIELDS: tuple[str, ...] = (
    "id",
    "state",
    "prompt",
    "mode",
    "output",
    "poster",
    "duration",
    "resolution",
    "generate_audio_switch",
    "provider",
    "charged_credits",
    "quoted_credits",
    "created_at",
    "team",
    "project",
    "creator",
    "project__name",
    "creator__email",
    "creator__name",
    "moderation_case__state",
    "moderation_case__hidden",
    "moderation_case__decision_reason",
)


@dataclass(frozen=True, slots=True)
class Card:
    """What one library card prints. ``job`` stays reachable for the moderation block (``{% moderation_card %}``)."""

    job: GenerationJob
    pk: str
    state: str
    url: str
    title_short: str  # the checkbox's label (40 characters)
    title: str  # the card's title (70 characters)
    badge: str  # CSS class of the state badge and placeholder
    state_label: str
    is_terminal: bool
    is_favourite: bool
    #: The video's signed URL when the viewer may play it (finished, has a file, not hidden from them); else "".
    video_src: str
    poster_src: str
    download_url: str
    mode_label: str
    duration: Any
    resolution: str
    audio: bool
    provider: str
    creator_email: str
    creator_name: str
    cost: str
    created_iso: str
    created_label: str
    project_name: str


class _Labels:
    """Labels a page of cards repeats, looked up once per page instead of once per card.

    ``job.get_state_display()`` walks the field's choices and ``formats.date_format(d, "j M Y H:i")`` builds a
    ``DateFormat`` and translates the month on every call: ~30 µs of each card's ~70 µs. A page has a handful of
    distinct states, modes and months, and one language (the request's), so each is asked once here. The output is
    exactly what those calls print (a test compares them).

    The current time zone (``timezone.localtime``) is read from the request's context-local state: once per page
    here, not once per card."""

    __slots__ = ("_mode", "_month", "_state", "_tz")

    def __init__(self) -> None:
        self._state: dict[str, str] = {}
        self._mode: dict[str, str] = {}
        self._month: dict[int, str] = {}
        self._tz = timezone.get_current_timezone()

    def local(self, when: Any) -> Any:
        """``timezone.localtime(when)``."""
        return when.astimezone(self._tz)

    def state(self, job: GenerationJob) -> str:
        label = self._state.get(job.state)
        if label is None:
            label = self._state[job.state] = str(job.get_state_display())
        return label

    def mode(self, job: GenerationJob) -> str:
        label = self._mode.get(job.mode)
        if label is None:
            label = self._mode[job.mode] = str(job.get_mode_display())
        return label

    def created(self, when: Any) -> str:
        """``formats.date_format(when, "j M Y H:i")``: day, the translated 3-letter month (title case), year, time."""
        month = self._month.get(when.month)
        if month is None:
            month = self._month[when.month] = str(MONTHS_3[when.month]).title()
        return f"{when.day} {month} {when.year} {when.hour:02d}:{when.minute:02d}"


def build_card(job: GenerationJob, user: Any, labels: _Labels | None = None) -> Card:
    """One card's values for ``user`` (who already passed the library's access check and ``visible_jobs``).
    ``labels``: shared by the cards of one page (``build_cards``)."""
    labels = labels or _Labels()
    video_src = poster_src = download_url = ""
    if job.state == "succeeded" and job.output and not video_hidden_for(user, job):
        # ``hidden_checked``: the job's case (joined by the selector) was just asked above, so with S3 the URL is not
        # checked again with a query per file (studio.files.signed_url).
        video_src = signed_url(job.output.name or "", hidden_checked=True)
        if job.poster:
            poster_src = signed_url(job.poster.name or "", hidden_checked=True)
        download_url = signed_url(job.output.name or "", download_as=download_name(job), hidden_checked=True)
    created = labels.local(job.created_at)
    creator = job.creator
    cost = f"{job.charged_credits} credits" if job.charged_credits is not None else f"{job.quoted_credits} held"
    return Card(
        job=job,
        pk=str(job.pk),
        state=job.state,
        url=job_url(job),
        title_short=card_title(job, 40),
        title=card_title(job, 70),
        badge=state_badge(job.state),
        state_label=labels.state(job),
        is_terminal=job.is_terminal,
        is_favourite=bool(getattr(job, "is_favourite", False)),
        video_src=video_src,
        poster_src=poster_src,
        download_url=download_url,
        mode_label=labels.mode(job),
        duration=job.duration,
        resolution=job.resolution,
        audio=job.generate_audio_switch,
        provider=job.provider or "—",
        creator_email=creator.email,
        creator_name=creator.display_name,
        cost=cost,
        created_iso=created.isoformat(),  # what the ``c`` date format prints
        created_label=labels.created(created),
        project_name=job.project.name,
    )


def build_cards(jobs: Iterable[GenerationJob], user: Any) -> list[Card]:
    """The cards of a page (or of the status refresh), in the jobs' order."""
    labels = _Labels()
    return [build_card(job, user, labels) for job in jobs]


# --- The card's HTML ---------------------------------------------------------------------------------------------

#: One library card. It was ``templates/generations/_card.html``; as a template each card cost ~85 µs (about 20
#: ``{{ card.… }}`` nodes, each resolved through the context stack, localised and escaped, plus an ``{% include %}``),
#: 2 ms of a 24-card page. The values are already final strings (``Card``), so the card is one ``str.format`` of
#: escaped values: ~10 µs. Every value goes through ``_e`` (``html.escape``, what autoescaping does); only the pieces
#: built below from constants and escaped values, and the moderation block (rendered by its own template), are not.
CARD_HTML = """<li class="card video-card" id="job-{pk}" data-job="{pk}" data-state="{state}"{oob}>
  <label class="select-box" title="Select this video"><input type="checkbox" name="job" value="{pk}" form="bulk-form" \
aria-label="Select {title_short}"></label>
  {player}
  {moderation}
  <a class="title" href="{url}">{title}</a>
  <div class="meta-line small">
    <span class="badge {badge}">{state_label}</span>
    {favourite}
    <span class="muted">{mode_label} · {duration} s · {resolution} · {audio}</span>
  </div>
  <dl class="card-facts small muted">
    <dt>Provider</dt><dd>{provider}</dd>
    <dt>By</dt><dd class="ellipsis" title="{creator_email}">{creator_name}</dd>
    <dt>Cost</dt><dd>{cost}</dd>
    <dt>Date</dt><dd title="{created_iso}">{created_label}</dd>
    {project}
  </dl>
  <div class="meta-line small card-foot">
    {download}
  </div>
</li>
"""
# A poster, not a <video>: the player is made on hover or click (studio.js), so a page of cards loads images only.
PLAYER_HTML = """<button type="button" class="player poster" data-video-src="{src}" aria-label="Play video">
      {poster}<span class="play" aria-hidden="true">▶</span>
    </button>"""
PLACEHOLDER_HTML = """<a class="player placeholder {badge}" href="{url}" tabindex="-1" aria-hidden="true">
      {text}</a>"""


def _e(value: Any) -> str:
    """Escape like the template's autoescape (``django.utils.html.escape`` is ``html.escape(str(value))``)."""
    return html.escape(str(value))


def render_card(card: Card, *, moderation: str = "", oob: bool = False, show_project: bool = False) -> str:
    """One card's HTML. ``moderation``: the card's moderation block (``{% moderation_card %}``, already rendered);
    ``oob``: an htmx out-of-band swap (the status refresh); ``show_project``: the team's "All videos" names the
    project on each card."""
    badge, url = _e(card.badge), _e(card.url)
    if card.video_src:
        poster = f'<img src="{_e(card.poster_src)}" alt="" loading="lazy">' if card.poster_src else ""
        player = PLAYER_HTML.format(src=_e(card.video_src), poster=poster)
    else:
        player = PLACEHOLDER_HTML.format(badge=badge, url=url, text="No video" if card.is_terminal else "Rendering…")
    return CARD_HTML.format(
        pk=_e(card.pk),
        state=_e(card.state),
        oob=' hx-swap-oob="outerHTML"' if oob else "",
        title_short=_e(card.title_short),
        player=player,
        moderation=moderation,
        url=url,
        title=_e(card.title),
        badge=badge,
        state_label=_e(card.state_label),
        favourite=(
            '<span class="fav" title="In your favourites" aria-label="Favourite">★</span>' if card.is_favourite else ""
        ),
        mode_label=_e(card.mode_label),
        duration=_e(card.duration),
        resolution=_e(card.resolution),
        audio="audio" if card.audio else "no audio",
        provider=_e(card.provider),
        creator_email=_e(card.creator_email),
        creator_name=_e(card.creator_name),
        cost=_e(card.cost),
        created_iso=_e(card.created_iso),
        created_label=_e(card.created_label),
        project=f'<dt>Project</dt><dd class="ellipsis">{_e(card.project_name)}</dd>' if show_project else "",
        download=f'<a href="{_e(card.download_url)}" download>Download</a>' if card.download_url else "",
    )
