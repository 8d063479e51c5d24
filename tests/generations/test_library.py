"""The video library (issue 10): keyset pages, filters and search kept in the URL, the status refresh of running cards,
and the multi-select actions (zip with manifest.csv, delete, move, favourite), from every side of the access rules."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from billing.models import LedgerEntry
from generations.models import Favourite, GenerationJob
from generations.selectors import LibraryFilters, library_page
from generations.services.library import download_name
from generations.states import State
from studio.audit.models import AuditAction, AuditEvent
from tests.conftest import World
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

# Noon, 30 days ago: the fixtures' jobs span a few seconds after it, all on one calendar day whatever the time now.
BASE = (timezone.now() - timedelta(days=30)).replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
        },
    }
    settings.AWS_STORAGE_BUCKET_NAME = ""
    return tmp_path / "media"


def make_jobs(world: World, count: int, *, project: Any = None, **fields: Any) -> list[GenerationJob]:
    """``count`` finished jobs, one second apart (some sharing a timestamp, to test the keyset's tie-break)."""
    project = project or world.project
    defaults: dict[str, Any] = {
        "team": project.team,
        "project": project,
        "creator": world.member,
        "mode": "t2v",
        "prompt": "a quiet lake",
        "resolution": "720p",
        "duration": 5,
        "provider": "wavespeed",
        "provider_requested": "wavespeed",
        "state": State.SUCCEEDED,
        "charged_credits": 50,
    }
    defaults.update(fields)
    jobs = [GenerationJob(**{**defaults, "created_at": BASE + timedelta(seconds=n // 2)}) for n in range(count)]
    GenerationJob.objects.bulk_create(jobs, batch_size=1000)
    return jobs


def with_video(job: GenerationJob, content: bytes = b"\x00\x00\x00\x18ftypmp42fake") -> GenerationJob:
    job.output.save(f"{job.pk}.mp4", ContentFile(content), save=False)
    job.poster.save(f"{job.pk}.jpg", ContentFile(b"\xff\xd8poster"), save=False)
    job.output_size = len(content)
    job.save()
    return job


def test_keyset_pages_walk_every_video_once_forward_and_back(world: World) -> None:
    jobs = make_jobs(world, 150)
    seen: list[Any] = []
    page = library_page(world.member, team=world.team, project=world.project, size=24)
    pages = [page]
    while page.next_cursor:
        seen += [job.pk for job in page.jobs]
        page = library_page(world.member, team=world.team, project=world.project, size=24, after=page.next_cursor)
        pages.append(page)
    seen += [job.pk for job in page.jobs]
    assert len(seen) == len(set(seen)) == 150 and set(seen) == {job.pk for job in jobs}
    assert len(pages) == 7
    # Back from the last page with "Newer": the same pages in reverse.
    back = library_page(world.member, team=world.team, project=world.project, size=24, before=pages[-1].prev_cursor)
    assert [job.pk for job in back.jobs] == [job.pk for job in pages[-2].jobs]
    assert library_page(world.member, team=world.team, project=world.project, after="garbage!").jobs  # first page


def test_filters_and_search_are_read_from_the_url_and_combine(world: World) -> None:
    make_jobs(world, 3, prompt="a red fox runs", mode="i2v", resolution="1080p")
    make_jobs(world, 2, prompt="the kitty looks around", provider="pixverse", creator=world.owner)
    make_jobs(world, 1, prompt="a failed storm", state=State.FAILED, charged_credits=0)
    make_jobs(world, 1, prompt="still going", state=State.RUNNING)
    make_jobs(world, 1, prompt="never shown draft", state=State.DRAFT)

    def count(**params: str) -> int:
        filters = LibraryFilters.from_query(params)
        return len(library_page(world.member, team=world.team, project=world.project, filters=filters).jobs)

    assert count() == 7  # drafts are never in a library
    assert count(state="failed") == 1 and count(state="active") == 1 and count(state="succeeded") == 5
    assert count(mode="i2v") == 3 and count(resolution="1080p") == 3 and count(provider="pixverse") == 2
    assert count(creator=str(world.owner.pk)) == 2
    assert count(q="kitty") == 2 and count(q="fox", mode="i2v") == 3 and count(q="fox", mode="t2v") == 0
    day = BASE.date().isoformat()
    assert count(**{"from": day, "to": day}) == 7
    assert count(**{"from": (BASE + timedelta(days=2)).date().isoformat()}) == 0
    Favourite.objects.create(user=world.member, job=GenerationJob.objects.filter(prompt__contains="fox").first())
    assert count(fav="1") == 1
    assert count(state="nonsense", mode="x" * 500, creator="1" * 50, q="\x00") == 7  # bad input is ignored


def test_the_library_pages_keep_filters_in_links_and_show_posters_not_players(world: World, media: Path) -> None:
    jobs = make_jobs(world, 30, prompt="the kitty looks around")
    with_video(jobs[-1])
    client = world.client_for(world.member)
    url = reverse("projects:detail", kwargs={"pk": world.project.pk})
    body = client.get(url, {"q": "kitty", "state": "succeeded"}).content.decode()
    assert "<video" not in body and "data-video-src=" in body
    assert 'value="kitty"' in body and 'rel="next"' in body and "q=kitty" in body and "state=succeeded" in body
    team_page = client.get(reverse("generations:videos"), {"q": "kitty"}).content.decode()
    assert "All videos" in team_page and team_page.count('class="card video-card"') == 24


def test_the_status_refresh_asks_only_for_running_cards(world: World) -> None:
    import re

    done = make_jobs(world, 2)
    running = make_jobs(world, 1, state=State.RUNNING, prompt="still going")
    client = world.client_for(world.member)
    page = client.get(reverse("projects:detail", kwargs={"pk": world.project.pk})).content.decode()
    refresh_url = re.search(r'id="library-refresh" hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert refresh_url.endswith(f"ids={running[0].pk}")  # the finished cards are never asked for again
    body = client.get(refresh_url).content.decode()
    assert body.count('hx-swap-oob="outerHTML"') == 1 and f'id="job-{running[0].pk}"' in body
    assert f"job-{done[0].pk}" not in body and "every 5s" in body
    GenerationJob.objects.filter(pk=running[0].pk).update(state=State.SUCCEEDED)
    body = client.get(refresh_url).content.decode()
    assert f'id="job-{running[0].pk}"' in body and "every 5s" not in body  # finished: the refresh stops
    outsider = world.client_for(world.outsider).get(refresh_url)
    assert "job-" not in outsider.content.decode()


def _bulk(client: Any, world: World, action: str, jobs: list[GenerationJob], **extra: Any) -> Any:
    data = {"team": str(world.team.pk), "action": action, "job": [str(job.pk) for job in jobs], "next": "/", **extra}
    return client.post(reverse("generations:library-bulk"), data)


def test_bulk_zip_holds_exactly_the_selected_videos_and_a_manifest(world: World, media: Path) -> None:
    jobs = [with_video(job, content=f"video {n}".encode()) for n, job in enumerate(make_jobs(world, 7))]
    selected = jobs[:5]
    response = _bulk(world.client_for(world.viewer), world, "zip", selected)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    archive = zipfile.ZipFile(io.BytesIO(body))
    names = archive.namelist()
    assert len(names) == 6 and names[-1] == "manifest.csv"
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert {row["job_id"] for row in manifest} == {str(job.pk) for job in selected}
    for row in manifest:
        job = GenerationJob.objects.get(pk=row["job_id"])
        assert archive.read(row["file"]) == default_storage.open(job.output.name).read()
        assert row["prompt"] == job.prompt and row["resolution"] == "720p" and row["provider"] == "wavespeed"


def test_bulk_zip_refuses_over_the_cap_and_builds_large_selections_in_the_background(
    world: World, media: Path, settings: Any
) -> None:
    from generations.models import ZipExport, ZipExportState
    from generations.services.enqueue import use_sink
    from generations.services.library import zip_export_build

    jobs = [with_video(job) for job in make_jobs(world, 4)]
    client = world.client_for(world.member)
    settings.LIBRARY_ZIP_MAX_BYTES = 10
    refused = _bulk(client, world, "zip", jobs)
    assert refused.status_code == 302 and not ZipExport.objects.exists()
    settings.LIBRARY_ZIP_MAX_BYTES = 10_000_000
    settings.LIBRARY_ZIP_STREAM_MAX_FILES = 2
    queued: list[Any] = []
    with use_sink(queued.append, immediate=True):
        response = _bulk(client, world, "zip", jobs)
    export = ZipExport.objects.get()
    assert response.url == reverse("generations:export", kwargs={"pk": export.pk})
    assert [work.task for work in queued] == ["zip_export_build"] and export.total == 4
    assert "0 of 4" in client.get(response.url).content.decode()
    zip_export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.state == ZipExportState.READY and export.done == 4
    with default_storage.open(export.file.name) as handle:
        assert len(zipfile.ZipFile(handle).namelist()) == 5
    assert "Download" in client.get(response.url).content.decode()
    assert world.client_for(world.owner).get(response.url).status_code == 404  # someone else's download


def test_bulk_delete_removes_files_keeps_the_ledger_and_records_the_action(world: World, media: Path) -> None:
    jobs = [with_video(job) for job in make_jobs(world, 3, creator=world.member)]
    paths = [media / job.output.name for job in jobs]
    assert all(path.exists() for path in paths)
    entries = LedgerEntry.objects.count()
    # A viewer may not delete; an outsider's selection matches nothing.
    assert _bulk(world.client_for(world.viewer), world, "delete", jobs).status_code == 403
    _bulk(world.client_for(world.outsider), world, "delete", jobs)
    assert GenerationJob.objects.filter(deleted_at__isnull=False).count() == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.db.transaction.on_commit", lambda func, **kwargs: func())
        response = _bulk(world.client_for(world.member), world, "delete", jobs[:2])
    assert response.status_code == 302
    assert not paths[0].exists() and not paths[1].exists() and paths[2].exists()
    assert LedgerEntry.objects.count() == entries
    events = AuditEvent.objects.filter(action=AuditAction.VIDEO_DELETED)
    assert {event.target_id for event in events} == {str(job.pk) for job in jobs[:2]}
    page = library_page(world.member, team=world.team, project=world.project)
    assert [job.pk for job in page.jobs] == [jobs[2].pk]
    job_url = reverse("generations:job", kwargs={"pk": jobs[0].pk})
    assert world.client_for(world.member).get(job_url).status_code == 404


def test_running_videos_are_not_deleted_or_moved(world: World) -> None:
    running = make_jobs(world, 1, state=State.RUNNING)
    response = _bulk(world.client_for(world.owner), world, "delete", running)
    assert response.status_code == 302 and not GenerationJob.objects.filter(deleted_at__isnull=False).exists()


def test_bulk_move_and_favourite(world: World) -> None:
    jobs = make_jobs(world, 3)
    other = ProjectFactory(team=world.team, name="Autumn", created_by=world.owner)
    foreign = world.outsider_project
    client = world.client_for(world.member)
    _bulk(client, world, "move", jobs[:2], project=str(other.pk))
    assert GenerationJob.objects.filter(project=other).count() == 2
    assert _bulk(client, world, "move", jobs[2:], project=str(foreign.pk)).status_code == 404
    assert _bulk(world.client_for(world.viewer), world, "move", jobs[2:], project=str(other.pk)).status_code == 403
    _bulk(client, world, "favourite", jobs)
    _bulk(client, world, "favourite", jobs)  # idempotent
    assert Favourite.objects.filter(user=world.member).count() == 3
    _bulk(client, world, "unfavourite", jobs[:1])
    assert Favourite.objects.filter(user=world.member).count() == 2
    assert not Favourite.objects.filter(user=world.owner).exists()  # favourites are personal


def test_delete_from_the_job_page(world: World, media: Path) -> None:
    job = with_video(make_jobs(world, 1, creator=world.member)[0])
    url = reverse("generations:delete", kwargs={"pk": job.pk})
    assert world.client_for(world.viewer).post(url).status_code == 403
    assert world.client_for(world.outsider).post(url).status_code == 404
    response = world.client_for(world.member).post(url)
    assert response.url == reverse("projects:detail", kwargs={"pk": world.project.pk})
    job.refresh_from_db()
    assert job.deleted_at is not None and not job.output.name


def test_downloads_are_named_from_project_and_prompt(world: World) -> None:
    world.project.name = "Spring campaign"
    world.project.save()
    job = make_jobs(world, 1, prompt="the kitty looks around, soft morning light")[0]
    job.project = world.project
    assert download_name(job) == "spring-campaign_kitty-looks-around_720p.mp4"
    blank = make_jobs(world, 1, prompt="", mode="t2v", resolution="360p")[0]
    assert download_name(blank) == "spring-campaign_text-to-video_360p.mp4"


def test_card_links_and_titles_match_reverse_and_truncatechars(world: World) -> None:
    """The card's cheap helpers (generation_tags.job_url, card_title) give what ``{% url %}`` and ``truncatechars``
    gave: the job page's path, and the prompt (or mode) cut to length with an ellipsis only when it is too long."""
    from django.template.defaultfilters import truncatechars
    from django.urls import set_script_prefix

    from generations.templatetags.generation_tags import card_title, job_url

    short, long_, bare = make_jobs(world, 3)
    long_.prompt = "a very long prompt about a cat on a lake at dawn, with mist and a boat, " * 3
    bare.prompt = ""
    for job in (short, long_, bare):
        assert job_url(job) == reverse("generations:job", kwargs={"pk": job.pk})
        for length in (40, 70):
            expected = truncatechars(job.prompt or job.get_mode_display(), length)
            assert card_title(job, length) == expected
    assert card_title(long_, 40).endswith("…") and len(card_title(long_, 40)) == 40
    set_script_prefix("/studio/")  # behind a path prefix the link follows it, as reverse() does
    try:
        assert job_url(short) == reverse("generations:job", kwargs={"pk": short.pk})
        assert job_url(short).startswith("/studio/")
    finally:
        set_script_prefix("/")


def test_card_labels_match_djangos_display_and_date_formats(world: World) -> None:
    """build_cards looks labels up once a page (cards._Labels): they equal ``get_state_display``,
    ``get_mode_display`` and ``date_format`` ("c", "j M Y H:i") for every month, state and mode, in the active
    language and time zone."""
    from django.utils import formats, translation
    from django.utils.timezone import override as tz_override

    from generations.cards import build_cards

    jobs = make_jobs(world, 12)
    for n, job in enumerate(jobs):
        job.created_at = timezone.now().replace(month=n + 1, day=1 + n, hour=n, minute=5 * n)
        job.state = [State.SUCCEEDED, State.FAILED, State.QUEUED, State.CANCELED][n % 4]
        job.mode = ["t2v", "i2v"][n % 2]
    for language, zone in (("en", "UTC"), ("de", "Asia/Kolkata")):
        with translation.override(language), tz_override(zone):
            for job, card in zip(jobs, build_cards(jobs, world.member), strict=True):
                created = timezone.localtime(job.created_at)
                assert card.state_label == job.get_state_display()
                assert card.mode_label == job.get_mode_display()
                assert card.created_iso == formats.date_format(created, "c")
                assert card.created_label == formats.date_format(created, "j M Y H:i")


def test_a_card_renders_its_moderation_block_only_when_it_has_one(world: World, media: Path) -> None:
    """Cards without a case and without a video skip the moderation template; a finished video keeps its Report form
    and a hidden one its "Under review" notice."""
    from studio.moderation.models import Case

    running, done, hidden = make_jobs(world, 3)
    GenerationJob.objects.filter(pk=running.pk).update(state=State.RUNNING)
    with_video(done)
    with_video(hidden)
    Case.objects.create(job=hidden, team=world.team, creator=world.member, provider="wavespeed", hidden=True)
    page = world.client_for(world.member).get(reverse("projects:detail", kwargs={"pk": world.project.pk}))
    html = page.content.decode()
    card = {job.pk: html.split(f'id="job-{job.pk}"')[1].split("</li>")[0] for job in (running, done, hidden)}
    assert "Report" not in card[running.pk] and "tombstone" not in card[running.pk]
    assert "Send report" in card[done.pk]
    assert "Under review" in card[hidden.pk] and "Send report" not in card[hidden.pk]


def test_card_html_escapes_every_value_it_prints(world: World) -> None:
    """The card's markup is built in Python (generations.cards.render_card), not by an autoescaping template: a prompt,
    creator name or project name with markup is printed escaped, in the title, the checkbox label and the project
    row of "All videos"."""
    (job,) = make_jobs(world, 1, prompt="<script>alert(\"x\")</script> & 'q'")
    world.member.name = "<b>Bob</b>"
    world.member.save()
    world.project.name = "<i>P</i>"
    world.project.save()
    client = world.client_for(world.member)
    for url in (reverse("projects:detail", kwargs={"pk": world.project.pk}), reverse("generations:videos")):
        html = client.get(url).content.decode()
        card = html.split(f'id="job-{job.pk}"')[1].split("</li>")[0]
        assert "<script>" not in card and "<b>" not in card and "<i>" not in card
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;" in card
        assert 'aria-label="Select &lt;script&gt;' in card and "&lt;b&gt;Bob&lt;/b&gt;" in card
    assert '<dd class="ellipsis">&lt;i&gt;P&lt;/i&gt;</dd>' in card  # "All videos" names the project


def test_cards_are_built_without_queries_and_keep_the_visibility_rule_with_s3(
    world: World, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """generations.cards builds every card from the selector's row and joins: no query per card, even with S3, where
    signing used to ask ``stored_file_hidden`` once per file (three queries per finished card). A video hidden under
    review still gets no URL for a member; a reviewer (staff) gets it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from generations.cards import build_cards
    from studio import files
    from studio.moderation.models import Case

    running, done, hidden = make_jobs(world, 3)
    GenerationJob.objects.filter(pk=running.pk).update(state=State.RUNNING)
    with_video(done)
    with_video(hidden)
    Case.objects.create(job=hidden, team=world.team, creator=world.member, provider="wavespeed", hidden=True)
    monkeypatch.setattr(files, "_uses_s3", lambda: True)

    class Presigning:
        def url(self, name: str, parameters: Any = None) -> str:
            return f"https://s3.test/{name}"

    monkeypatch.setattr(files, "default_storage", Presigning())
    jobs = library_page(world.member, team=world.team, project=world.project).jobs
    with CaptureQueriesContext(connection) as captured:
        cards = {card.job.pk: card for card in build_cards(jobs, world.member)}
    assert len(captured) == 0, [q["sql"] for q in captured.captured_queries]
    assert cards[done.pk].video_src == f"https://s3.test/{done.output.name}"
    assert cards[done.pk].poster_src == f"https://s3.test/{done.poster.name}"
    assert cards[done.pk].download_url
    assert cards[hidden.pk].video_src == cards[hidden.pk].download_url == ""
    assert cards[running.pk].video_src == "" and not cards[running.pk].is_terminal
    world.member.is_staff = True
    staff_cards = {card.job.pk: card for card in build_cards(jobs, world.member)}
    assert staff_cards[hidden.pk].video_src


def test_the_status_refresh_renders_the_same_card_as_the_page(world: World, media: Path) -> None:
    """The library page and the status refresh print the same ``generations.cards.Card`` through one template."""
    (job,) = make_jobs(world, 1)
    GenerationJob.objects.filter(pk=job.pk).update(state=State.RUNNING)
    client = world.client_for(world.member)
    page = client.get(reverse("projects:detail", kwargs={"pk": world.project.pk})).content.decode()
    refresh = client.get(reverse("generations:library-refresh"), {"ids": str(job.pk)}).content.decode()
    card = page.split(f'<li class="card video-card" id="job-{job.pk}"')[1].split("</li>")[0]
    fresh = refresh.split(f'<li class="card video-card" id="job-{job.pk}"')[1].split("</li>")[0]
    # The refresh does not know which library asked, so it names the project (as it always has); the rest is equal.
    project_row = f'<dt>Project</dt><dd class="ellipsis">{world.project.name}</dd>'
    assert fresh.replace(' hx-swap-oob="outerHTML"', "").replace(project_row, "") == card
    assert "Rendering…" in card and str(job.pk) in refresh
