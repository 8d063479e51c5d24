"""A creator makes a video end to end in a real browser: upload an image, compose image-to-video, see the exact price
and the balance after it, confirm, watch the job page turn "Ready" by itself, play the video in the project library
and find the charge in the wallet. Runs against a real Celery worker and the provider emulator on a socket (the
pipeline's own end-to-end fixtures). Also: a reference-to-video prompt naming an unknown @ref is refused with a
clear message, and nothing is held.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from billing.models import Hold, HoldState
from generations.models import GenerationJob
from generations.states import State
from tests.browser.conftest import hover_poster, image_file, log_in, no_horizontal_scroll, screenshot
from tests.factories import PASSWORD, MembershipFactory, ProjectFactory, TeamFactory, UserFactory
from tests.generations.e2e.conftest import e2e, emulator_server, worker_env  # noqa: F401 - the e2e fixtures
from tests.generations.helpers import balance, fund, make_asset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT_MS = 60_000  # the whole render (queue, run, download, finalize) against the emulator
CREDITS = 500
PRICE = 12  # 360p without audio: 6 credits/s × 2 s


@pytest.fixture(autouse=True)
def _isolated_media() -> None:
    """Overrides the browser suite's per-test media directory: the Celery worker is another process and writes the
    rendered video to the default storage under STUDIO_VAR_DIR, so the live server must read from the same place."""


@pytest.fixture
def studio(live_server: Any) -> Any:
    team = TeamFactory(name="Northwind Films")
    user = UserFactory(email="dana@example.com", active_team=team)
    MembershipFactory(team=team, user=user, role="member")
    project = ProjectFactory(team=team, name="Spring campaign", created_by=user)
    fund(user, team, CREDITS)
    return team, user, project


def _compose_url(live_server: Any, project: Any) -> str:
    return f"{live_server.url}/generations/projects/{project.pk}/new/"


@pytest.mark.e2e
def test_image_to_video_from_upload_to_playing_video_and_the_charge(
    e2e: Any,  # noqa: F811
    page: Any,
    new_page: Any,
    live_server: Any,
    studio: Any,
    tmp_path: Any,
) -> None:
    team, user, project = studio
    log_in(page, live_server, user.email, PASSWORD)

    # 1. Upload the picture to animate.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assets").click()
    page.get_by_role("link", name="Upload images").first.click()
    page.get_by_label("Images").set_input_files([image_file(tmp_path, "kitty.png", size=(640, 360))])
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-results")).to_contain_text("1 accepted")

    # 2. Open the project and the composer; every mode shows its own inputs.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    page.get_by_role("link", name="Spring campaign").click()
    expect(page.locator("#library")).to_contain_text("No videos in this project yet.")
    screenshot(page, "generate_library_empty")
    page.locator("#library").get_by_role("link", name="New video").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New video")
    composer = page.locator("form.composer")
    expect(page.get_by_label("Image to video")).to_be_checked()
    # The visual picker replaces the plain selects (which stay as the no-JavaScript fallback, hidden here).
    picker = composer.locator("[data-picker]")
    expect(picker.get_by_text("Choose the image to animate")).to_be_visible()
    expect(picker.locator(".picker-tile[data-ref-name=kitty] img")).to_be_visible()
    expect(composer.locator("select[name=image]")).to_be_hidden()
    expect(composer.locator("select[name=ref_asset_1]")).to_be_hidden()
    screenshot(page, "generate_composer_i2v")
    page.get_by_label("Reference to video").check()
    expect(picker.get_by_text("Add 1–7 references")).to_be_visible()
    expect(picker.get_by_text("Choose the image to animate")).to_be_hidden()
    screenshot(page, "generate_composer_r2v")
    page.get_by_label("Text to video").check()
    expect(picker).to_be_hidden()
    expect(composer.locator("select[name=aspect_ratio]")).to_be_visible()
    screenshot(page, "generate_composer_t2v")

    # 3. Compose: the image, 360p, 2 s, through the (emulated) WaveSpeed API; the live quote follows the input.
    page.get_by_label("Image to video").check()
    picker.locator(".picker-tile[data-ref-name=kitty]").click()
    expect(picker.locator(".picker-tile[data-ref-name=kitty]")).to_have_class(re.compile("selected"))
    expect(composer.locator("[data-chosen-image]")).to_contain_text("@kitty")
    composer.get_by_label("Prompt:", exact=True).fill("the kitty looks around, soft morning light")
    composer.locator("select[name=resolution]").select_option("360p")
    composer.locator("input[name=duration]").fill("2")
    composer.locator("select[name=provider]").select_option("wavespeed")
    live_quote = page.locator("#live-quote")
    expect(live_quote).to_contain_text(f"{PRICE} credits")
    expect(live_quote).to_contain_text(f"{CREDITS - PRICE}")
    page.get_by_role("button", name="Check price").click()

    # 4. The confirm step: the exact price and the balance after it; nothing is held yet.
    confirm = page.get_by_role("button", name=f"Confirm: generate for {PRICE} credits")
    expect(confirm).to_be_visible()
    expect(live_quote).to_contain_text(f"{PRICE} credits")
    expect(live_quote.locator(".balance-after strong")).to_have_text(f"{CREDITS - PRICE}")
    assert GenerationJob.objects.count() == 0 and balance(user, team) == CREDITS
    screenshot(page, "generate_confirm")
    confirm.click()

    # 5. The job page updates itself (no reload) until the video is ready.
    expect(page).to_have_url(re.compile(r"/generations/jobs/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("status").first).to_contain_text(f"{PRICE} credits are held")
    page.evaluate("window.__studioNoReload = true")
    status = page.locator("#job-status")
    expect(status.locator(".badge").first).not_to_have_text("Ready")
    screenshot(page, "generate_job_running")
    expect(status.locator(".badge").first).to_have_text("Ready", timeout=JOB_TIMEOUT_MS)
    assert page.evaluate("window.__studioNoReload === true"), "the job page reloaded instead of updating in place"
    expect(status.locator("video")).to_be_visible()
    expect(page.locator("#job-history")).to_contain_text("succeeded")  # the history caught up by itself too
    expect(status).to_contain_text(f"charged: {PRICE}")
    job = GenerationJob.objects.get()
    assert job.state == State.SUCCEEDED
    screenshot(page, "generate_job_ready")

    # 6. The video is in the project's library, and it really loads and plays.
    page.get_by_role("link", name="Spring campaign").first.click()
    card = page.locator(f"#job-{job.pk}")
    expect(card.locator(".badge")).to_have_text("Ready")
    # A poster, not a player: the <video> is made when the poster is hovered (or clicked, on touch screens).
    expect(card.locator("video")).to_have_count(0)
    hover_poster(page, card)
    video = card.locator("video")
    expect(video).to_be_visible()
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        "v => v.readyState >= 2 && v.currentTime > 0", arg=video.element_handle(), timeout=JOB_TIMEOUT_MS
    )
    duration = video.evaluate("v => v.duration")
    assert abs(duration - 2) < 0.3, duration
    assert video.evaluate("v => v.videoWidth") > 0
    video.evaluate("v => { v.pause(); v.currentTime = 0; }")
    expect(card.get_by_role("link", name="Download")).to_be_visible()
    screenshot(page, "generate_library")

    # 7. The wallet shows the charge and the new balance; usage and buying have their pages.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    expect(page.locator("#balance")).to_have_text(f"{CREDITS - PRICE}")
    history = page.locator("table.history")
    # Match the amount cell exactly: the row's date ("2026-12-01") also contains "-12" every December.
    charge = history.get_by_role("row").filter(has=page.locator("td.amount", has_text=re.compile(rf"^-{PRICE}$")))
    expect(charge).to_have_count(1)
    expect(charge).to_contain_text("Charged")  # the job's hold, captured when the video arrived
    expect(page.get_by_text("No credits are on hold.")).to_be_visible()
    assert balance(user, team) == CREDITS - PRICE
    assert not Hold.objects.filter(state=HoldState.OPEN).exists()
    screenshot(page, "generate_wallet")
    page.get_by_role("link", name="Usage").click()
    expect(page.locator("svg.chart")).to_be_visible()
    expect(page.locator("main table")).to_contain_text("Spring campaign")
    screenshot(page, "generate_usage")
    page.get_by_role("link", name="Buy credits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Buy credits")
    screenshot(page, "generate_buy")

    # 8. The same pages on a phone: nothing scrolls sideways.
    phone = new_page(mobile=True)
    log_in(phone, live_server, user.email, PASSWORD)
    pages = {
        "composer": _compose_url(live_server, project),
        "job": f"{live_server.url}/generations/jobs/{job.pk}/",
        "library": f"{live_server.url}/projects/{project.pk}/",
        "wallet": f"{live_server.url}/billing/",
        "usage": f"{live_server.url}/billing/usage/",
        "buy": f"{live_server.url}/billing/buy/",
    }
    for name, url in pages.items():
        phone.goto(url)
        screenshot(phone, f"generate_mobile_{name}")
        assert no_horizontal_scroll(phone), f"the {name} page scrolls sideways at 375 px"


def test_reference_to_video_flags_an_unknown_ref_before_submit(page: Any, live_server: Any, studio: Any) -> None:
    """Picked from thumbnails, named with ``@`` completion; an unknown ``@name`` is marked before anything is sent."""
    team, user, project = studio
    make_asset(team, ref_name="cat", user=user)
    make_asset(team, ref_name="park", user=user, colour=(40, 160, 60))
    log_in(page, live_server, user.email, PASSWORD)
    page.goto(_compose_url(live_server, project))

    page.get_by_label("Reference to video").check()
    composer = page.locator("form.composer")
    picker = composer.locator("[data-picker]")
    picker.locator(".picker-tile[data-ref-name=cat]").click()
    picker.locator(".picker-tile[data-ref-name=park]").click()
    chosen = picker.locator(".chosen-ref")
    expect(chosen).to_have_count(2)
    chosen.nth(1).locator("select.chosen-type").select_option("background")
    prompt = composer.get_by_label("Prompt:", exact=True)
    prompt.fill("@dog runs through @park")
    unknown = page.locator("#unknown-refs")
    expect(unknown).to_be_visible()
    expect(unknown).to_contain_text("@dog")
    expect(prompt).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Check price").click()
    # Nothing was sent: still the editable composer, no confirm button, the text kept to fix.
    expect(page.get_by_role("button", name=re.compile("^Confirm"))).to_have_count(0)
    expect(prompt).to_have_value("@dog runs through @park")
    screenshot(page, "generate_composer_r2v_error")

    # "@" completes from the chosen references.
    prompt.fill("")
    prompt.press_sequentially("@c")
    completion = page.locator("#at-complete")
    expect(completion).to_be_visible()
    expect(completion.get_by_role("option")).to_have_text(["@cat"])
    # A blur's delayed close (150 ms) must not close the list once the prompt has the focus again: it did, after
    # "Check price" above, and the Enter below then typed a new line instead of picking @cat.
    prompt.evaluate("p => { p.blur(); p.focus(); }")
    page.wait_for_timeout(300)
    expect(completion).to_be_visible()
    prompt.press("Enter")
    prompt.press_sequentially("runs through @p")
    prompt.press("Enter")
    expect(prompt).to_have_value("@cat runs through @park ")
    expect(unknown).to_be_hidden()
    screenshot(page, "generate_composer_r2v_completion")
    page.get_by_role("button", name="Check price").click()
    expect(page.get_by_role("button", name=re.compile("^Confirm"))).to_be_visible()
    assert GenerationJob.objects.count() == 0
    assert not Hold.objects.exists()
    assert balance(user, team) == CREDITS
