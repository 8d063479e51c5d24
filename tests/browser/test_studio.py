"""The studio as a new user meets it (issue 10), in a real browser against the live server, a real Celery worker and the
provider emulators: a library of 150 videos (filter, search, pages, zip of 5 with the manifest, a large zip built by
the worker, move, delete), reference-to-video from thumbnails with ``@`` completion to a ready video and its
notification, and a member over their cap who sees why and gets back to editing. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Hold, MemberCap, TeamBilling
from generations.emulators.render import RenderSpec, render_mp4
from generations.models import GenerationJob
from generations.states import State
from studio.notifications.models import Notification
from studio.teams.models import Membership
from tests.browser.conftest import hover_poster, image_file, log_in, screenshot
from tests.factories import PASSWORD, MembershipFactory, ProjectFactory, TeamFactory, UserFactory
from tests.generations.e2e.conftest import e2e, emulator_server, worker_env  # noqa: F401 - the e2e fixtures
from tests.generations.helpers import fund, make_asset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT_MS = 60_000


@pytest.fixture(autouse=True)
def _isolated_media() -> None:
    """The worker is another process writing to the default storage under STUDIO_VAR_DIR: share it (as
    tests/browser/test_generate.py does)."""


@pytest.fixture
def studio(live_server: Any) -> Any:
    team = TeamFactory(name="Northwind Films")
    owner = UserFactory(email="olga@example.com", active_team=team, name="Olga")
    MembershipFactory(team=team, user=owner, role="owner")
    project = ProjectFactory(team=team, name="Spring campaign", created_by=owner)
    return team, owner, project


def _real_mp4(tmp_path: Path) -> bytes:
    path = render_mp4(RenderSpec(width=320, height=180, duration=1, prompt="sunrise"), tmp_path / "clip.mp4")
    return path.read_bytes()


def _library_of_150(team: Any, owner: Any, project: Any, tmp_path: Path) -> list[GenerationJob]:
    """150 finished videos; the 7 "sunrise" ones have real MP4 files and posters."""
    base = timezone.now() - timedelta(days=3)
    prompts = ["a red fox in the snow", "the kitty looks around", "waves on a beach", "city lights at night"]
    jobs = []
    for n in range(150):
        ready = n >= 143
        jobs.append(
            GenerationJob(
                team=team,
                project=project,
                creator=owner,
                mode=("t2v", "i2v", "r2v")[n % 3],
                prompt=f"sunrise over the hills, take {n}" if ready else prompts[n % 4],
                resolution="360p" if ready else ("720p", "1080p")[n % 2],
                duration=1 if ready else 5,
                provider=("wavespeed", "pixverse")[n % 2],
                provider_requested="auto",
                state=State.SUCCEEDED if ready or n % 5 else State.FAILED,
                charged_credits=6 if ready else 50,
                created_at=base + timedelta(minutes=n),
            )
        )
    GenerationJob.objects.bulk_create(jobs)
    content = _real_mp4(tmp_path)
    ready = list(GenerationJob.objects.filter(prompt__startswith="sunrise").order_by("-created_at"))
    for job in ready:
        job.output = default_storage.save(f"generations/{team.pk}/{job.pk}.mp4", ContentFile(content))
        job.poster = default_storage.save(f"generations/{team.pk}/{job.pk}-poster.jpg", ContentFile(_poster()))
        job.output_size = len(content)
        job.save(update_fields=["output", "poster", "output_size"])
    return ready


def _poster() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 180), (230, 140, 60)).save(out, "JPEG")
    return out.getvalue()


def _check_zip(data: bytes, expected: list[GenerationJob]) -> None:
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert names[-1] == "manifest.csv" and len(names) == len(expected) + 1
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert {row["job_id"] for row in manifest} == {str(job.pk) for job in expected}
    for row in manifest:
        assert row["file"].startswith("spring-campaign_sunrise-over-hills_360p")
        with av.open(io.BytesIO(archive.read(row["file"]))) as container:  # a playable MP4: decodes to frames
            frame = next(container.decode(video=0))
            assert frame.width == 320 and frame.height == 180


def _tick(page: Any, jobs: list[GenerationJob]) -> None:
    for job in jobs:
        page.locator(f"#job-{job.pk} input[name=job]").check()


@pytest.mark.e2e
def test_a_library_of_150_videos_filter_search_pages_zip_move_and_delete(
    e2e: Any,  # noqa: F811
    page: Any,
    live_server: Any,
    studio: Any,
    tmp_path: Path,
    settings: Any,
) -> None:
    team, owner, project = studio
    autumn = ProjectFactory(team=team, name="Autumn launch", created_by=owner)
    ready = _library_of_150(team, owner, project, tmp_path)
    log_in(page, live_server, owner.email, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    library = page.locator("#library")
    cards = library.locator("li.video-card")
    expect(cards).to_have_count(24)
    expect(library.locator("video")).to_have_count(0)  # posters only; a player is made on demand
    screenshot(page, "studio_library")

    # Paginate: "Older" until the end walks all 150 once.
    seen: set[str] = set()
    while True:
        seen |= set(cards.evaluate_all("cards => cards.map(c => c.dataset.job)"))
        older = page.get_by_role("link", name="Older →")
        if older.count() == 0:
            break
        older.click()
        expect(page).to_have_url(re.compile(r"after="))
    assert len(seen) == 150
    page.get_by_role("link", name="Newest").click()

    # Filter and search; the URL keeps them, so the view can be shared.
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"state=failed"))
    failed = GenerationJob.objects.filter(project=project, state=State.FAILED).count()
    expect(cards).to_have_count(min(failed, 24))
    page.get_by_label("Status").select_option("")
    page.get_by_label("Search prompts").fill("sunrise")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"q=sunrise"))
    expect(cards).to_have_count(7)
    shared = page.url
    other = page.context.new_page()
    other.goto(shared)
    expect(other.locator("#library li.video-card")).to_have_count(7)
    other.close()
    screenshot(page, "studio_library_search")

    # Hover/click a poster: the player appears and plays.
    first = page.locator(f"#job-{ready[0].pk}")
    hover_poster(page, first)
    expect(first.locator("video")).to_be_visible()

    # Zip of 5: exactly those 5 playable MP4s and the manifest.
    five = ready[:5]
    _tick(page, five)
    expect(page.locator(".bulk-count")).to_have_text("5 selected")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download zip").click()
    download = download_info.value
    assert download.suggested_filename == "spring-campaign_5-videos.zip"
    _check_zip(Path(download.path()).read_bytes(), five)

    # A larger selection is built by the worker, with progress and a link.
    settings.LIBRARY_ZIP_STREAM_MAX_FILES = 3
    page.reload()
    _tick(page, five)
    page.get_by_role("button", name="Download zip").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Download")
    link = page.get_by_role("link", name=re.compile(r"^Download spring-campaign"))
    expect(link).to_be_visible(timeout=JOB_TIMEOUT_MS)
    screenshot(page, "studio_library_zip_ready")
    with page.expect_download() as download_info:
        link.click()
    _check_zip(Path(download_info.value.path()).read_bytes(), five)
    settings.LIBRARY_ZIP_STREAM_MAX_FILES = 20

    # Move two to another project.
    page.goto(shared)
    _tick(page, ready[5:7])
    page.locator("#bulk-form select[name=project]").select_option(label="Autumn launch")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_role("status").first).to_contain_text("Moved 2 videos to Autumn launch")
    expect(cards).to_have_count(5)
    assert GenerationJob.objects.filter(project=autumn).count() == 2

    # Delete one (asked first): gone from the library and from storage; its charge stays.
    victim = ready[0]
    path = Path(default_storage.path(victim.output.name))
    assert path.exists()
    _tick(page, [victim])
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status").first).to_contain_text("Deleted 1 video")
    expect(cards).to_have_count(4)
    victim.refresh_from_db()
    assert victim.deleted_at is not None and victim.charged_credits == 6
    assert not path.exists()

    # The team-wide "All videos" has the same controls.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Videos").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("All videos")
    page.get_by_label("Search prompts").fill("sunrise")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#library li.video-card")).to_have_count(6)  # 4 here + 2 moved to Autumn
    screenshot(page, "studio_all_videos")


@pytest.mark.e2e
def test_reference_to_video_from_thumbnails_to_a_ready_video_and_its_notification(
    e2e: Any,  # noqa: F811
    page: Any,
    live_server: Any,
    studio: Any,
    tmp_path: Path,
) -> None:
    team, owner, project = studio
    fund(owner, team, 500)
    make_asset(team, ref_name="pup", user=owner, colour=(210, 170, 90))
    log_in(page, live_server, owner.email, PASSWORD)
    expect(page.locator("main")).to_contain_text("Welcome, ")  # a first visit: not "Welcome back"
    expect(page.get_by_test_id("next-steps")).to_be_visible()
    screenshot(page, "studio_dashboard_first_run")
    page.goto(f"{live_server.url}/generations/projects/{project.pk}/new/")
    page.get_by_label("Reference to video").check()
    composer = page.locator("form.composer")
    picker = composer.locator("[data-picker]")

    # Upload a second image right here, with progress; it appears as a tile.
    picker.locator("input[data-picker-upload]").set_input_files([image_file(tmp_path, "beach.png", size=(640, 360))])
    expect(picker.locator("[data-picker-status]")).to_contain_text("1 accepted", timeout=20_000)
    expect(picker.locator(".picker-tile[data-ref-name=beach]")).to_be_visible()

    picker.locator(".picker-tile[data-ref-name=beach]").click()
    picker.locator(".picker-tile[data-ref-name=pup]").click()
    chosen = picker.locator(".chosen-ref")
    expect(chosen).to_have_count(2)
    # Drag the pup before the beach; the beach is the background.
    chosen.nth(1).locator(".drag").drag_to(chosen.nth(0).locator(".drag"))
    expect(chosen.nth(0).locator("input.chosen-name")).to_have_value("pup")
    chosen.nth(1).locator("select.chosen-type").select_option("background")

    prompt = composer.get_by_label("Prompt:", exact=True)
    prompt.press_sequentially("@p")
    prompt.press("Enter")
    prompt.press_sequentially("runs along @b")
    expect(page.locator("#at-complete").get_by_role("option")).to_have_text(["@beach"])
    prompt.press("Enter")
    expect(prompt).to_have_value("@pup runs along @beach ")
    composer.locator("select[name=resolution]").select_option("360p")
    composer.locator("input[name=duration]").fill("2")
    composer.locator("select[name=provider]").select_option("wavespeed")
    expect(page.locator("#live-quote")).to_contain_text("12 credits")
    screenshot(page, "studio_composer_r2v")
    page.get_by_role("button", name="Check price").click()
    page.get_by_role("button", name="Confirm: generate for 12 credits").click()

    expect(page).to_have_url(re.compile(r"/generations/jobs/[0-9a-f-]{36}/$"))
    screenshot(page, "studio_job_waiting")
    status = page.locator("#job-status")
    expect(status.locator(".badge").first).to_have_text("Ready", timeout=JOB_TIMEOUT_MS)
    job = GenerationJob.objects.get()
    refs = list(job.references.order_by("order").values_list("ref_name", "type"))
    assert refs == [("pup", "subject"), ("beach", "background")]
    href = status.get_by_role("link", name="Download MP4").get_attribute("href") or ""
    answer = page.request.get(href if href.startswith("http") else live_server.url + href)
    assert "spring-campaign_pup-runs-along_360p.mp4" in answer.headers["content-disposition"]
    screenshot(page, "studio_job_ready")

    # The bell opens the notifications page; the "ready" notification links to the job.
    page.goto(f"{live_server.url}/projects/")
    bell = page.locator("a.notif")
    expect(bell.locator(".count")).to_be_visible()
    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    ready = page.get_by_role("button", name=re.compile("Your video is ready"))
    expect(ready).to_be_visible()
    screenshot(page, "studio_notifications")
    ready.click()
    expect(page).to_have_url(re.compile(rf"/generations/jobs/{job.pk}/$"))
    assert Notification.objects.get(user=owner, kind="video_ready").read_at is not None

    # The asset page shows its lineage: the video, as @pup, subject.
    page.goto(f"{live_server.url}/assets/")
    page.get_by_label("Search assets").fill("@pup")
    page.get_by_role("link", name="Pup").first.click()
    lineage = page.locator("#lineage")
    expect(lineage).to_contain_text("@pup runs along @beach")
    expect(lineage).to_contain_text("subject")
    screenshot(page, "studio_asset_lineage")


def test_a_member_over_their_cap_sees_why_and_gets_back_to_editing(page: Any, live_server: Any, studio: Any) -> None:
    team, owner, project = studio
    member = UserFactory(email="max@example.com", active_team=team, name="Max")
    membership = MembershipFactory(team=team, user=member, role="member")
    TeamBilling.objects.update_or_create(team=team, defaults={"use_pool": True})
    fund(owner, team, 1000)  # the team pool
    MemberCap.objects.create(membership=membership, monthly_cap=5)
    assert Membership.objects.filter(team=team).count() == 2
    log_in(page, live_server, member.email, PASSWORD)
    page.goto(f"{live_server.url}/generations/projects/{project.pk}/new/")
    page.get_by_label("Text to video").check()
    composer = page.locator("form.composer")
    composer.get_by_label("Prompt:", exact=True).fill("a lighthouse in a storm, slow zoom")
    composer.locator("select[name=resolution]").select_option("540p")
    page.get_by_role("button", name="Check price").click()

    blocked = page.get_by_test_id("blocked")
    expect(blocked).to_contain_text("Over the monthly limit")
    expect(blocked).to_contain_text("Ask a team admin to raise your monthly limit")
    expect(blocked).to_contain_text(owner.email)
    expect(page.get_by_role("button", name=re.compile("^Confirm"))).to_have_count(0)
    screenshot(page, "studio_composer_blocked")
    page.get_by_role("button", name="Change settings").click()
    expect(composer.get_by_label("Prompt:", exact=True)).to_have_value("a lighthouse in a storm, slow zoom")
    expect(composer.get_by_label("Prompt:", exact=True)).to_be_editable()
    expect(composer.locator("select[name=resolution]")).to_have_value("540p")
    assert not GenerationJob.objects.exists() and not Hold.objects.exists()
