"""Moderation in a real browser, against the real worker and the emulator: a WaveSpeed video comes back flagged NSFW
(``#nsfw``) and is hidden; a reviewer opens the review queue, plays it and takes it down with a reason; the creator
sees the tombstone and the notification and appeals; a second reviewer overturns and the video is back, refunded."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from billing.models import LedgerTransaction, TxKind
from generations.providers.base import Mode
from generations.services.jobs import JobRequest, generation_create
from generations.states import State
from studio.moderation.models import Case, CaseState
from tests.browser.conftest import log_in, no_horizontal_scroll, screenshot
from tests.factories import PASSWORD, MembershipFactory, ProjectFactory, TeamFactory, UserFactory
from tests.generations.e2e.conftest import e2e, emulator_server, worker_env  # noqa: F401 - the e2e fixtures
from tests.generations.helpers import balance, fund

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PLAY_TIMEOUT_MS = 30_000


@pytest.fixture(autouse=True)
def _isolated_media() -> None:
    """The worker (another process) writes videos under STUDIO_VAR_DIR; the live server must read the same place."""


def _play(page: Any, video: Any) -> None:
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        "v => v.readyState >= 2 && v.currentTime > 0", arg=video.element_handle(), timeout=PLAY_TIMEOUT_MS
    )
    assert video.evaluate("v => v.videoWidth") > 0
    video.evaluate("v => v.pause()")


def test_review_take_down_appeal_and_overturn(e2e: Any, new_page: Any, live_server: Any) -> None:  # noqa: F811
    team = TeamFactory(name="Northwind Films")
    creator = UserFactory(email="dana@example.com", active_team=team)
    MembershipFactory(team=team, user=creator, role="member")
    project = ProjectFactory(team=team, name="Spring campaign", created_by=creator)
    first = UserFactory(email="rita.reviewer@example.com", is_staff=True)
    second = UserFactory(email="sam.reviewer@example.com", is_staff=True)
    fund(creator, team, 500)
    job = generation_create(
        user=creator,
        project=project,
        request=JobRequest(
            mode=Mode.TEXT_TO_VIDEO.value,
            prompt="a sunny beach #nsfw",
            resolution="360p",
            duration=2,
            aspect_ratio="16:9",
            provider="wavespeed",
        ),
    )
    e2e.wait([job])
    assert job.state == State.SUCCEEDED
    case = Case.objects.get(job=job)
    assert case.hidden
    charged = job.charged_credits
    after_charge = balance(creator, team)

    # 1. The creator cannot see the flagged video: the library card and job page say it is under review.
    member = new_page()
    log_in(member, live_server, creator.email, PASSWORD)
    member.goto(f"{live_server.url}/projects/{project.pk}/")
    card = member.locator(f"#job-{job.pk}")
    expect(card).to_contain_text("Under review")
    expect(card.locator("video")).to_have_count(0)
    screenshot(member, "moderation_library_under_review")

    # 2. A reviewer opens the queue from the nav, opens the case, plays the video and takes it down with a reason.
    staff = new_page()
    log_in(staff, live_server, first.email, PASSWORD)
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Review queue")
    expect(staff.locator("#open-count")).to_have_text("1 open")
    row = staff.locator(f"#case-{case.pk}")
    expect(row).to_contain_text("Provider NSFW flag")
    screenshot(staff, "moderation_queue")
    row.get_by_role("link").click()
    expect(staff.locator("#provider-verdict")).to_contain_text("NSFW")
    _play(staff, staff.locator("video"))
    staff.get_by_role("button", name="Claim").click()
    expect(staff.get_by_text("You are reviewing this case")).to_be_visible()
    staff.get_by_label("Reason (needed to take down or to ask; the creator sees it)").fill(
        "Nudity is not allowed on this platform"
    )
    expect(staff.get_by_label("Refund the charge")).to_be_checked()  # a provider flagged it: refund by default
    screenshot(staff, "moderation_case_before_takedown")
    staff.get_by_role("button", name="Take down").click()
    expect(staff.locator("#case-state")).to_have_text("Taken down")
    screenshot(staff, "moderation_case_taken_down")
    case.refresh_from_db()
    assert case.state == CaseState.TAKEN_DOWN
    assert not default_storage.exists(f"generations/{team.pk}/{job.pk}.mp4")
    assert balance(creator, team) == after_charge + charged

    # 3. The creator sees the tombstone with the reason and the notification (the bell opens the notifications
    #    page, whose entry leads to the job's moderation panel), and appeals.
    member.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(card).to_contain_text("Taken down")
    expect(card).to_contain_text("Nudity is not allowed on this platform")
    expect(member.locator(".notif .count")).to_be_visible()
    screenshot(member, "moderation_library_tombstone")
    member.locator("a.notif").click()
    expect(member.get_by_role("heading", level=1)).to_have_text("Notifications")
    takedown = member.locator(".notifications li", has_text="was taken down")
    expect(takedown).to_have_count(1)
    expect(takedown).to_contain_text("Nudity is not allowed on this platform")
    screenshot(member, "moderation_notifications")
    takedown.get_by_role("button", name=re.compile("was taken down")).click()
    expect(member).to_have_url(re.compile(rf"/generations/jobs/{job.pk}/"))
    panel = member.locator("#moderation")
    expect(panel).to_contain_text("This video was taken down")
    expect(panel).to_contain_text("Refunded")
    member.get_by_label(re.compile("Appeal this decision")).fill("It is a classical painting, not a photo.")
    member.get_by_role("button", name="Send appeal").click()
    expect(member.locator(".messages")).to_contain_text("Appeal sent")
    expect(panel).to_contain_text("Waiting for review")
    expect(member.get_by_role("button", name="Send appeal")).to_have_count(0)  # one appeal per decision
    screenshot(member, "moderation_job_appealed")

    # 4. The appeal is back in the queue, marked; the reviewer who decided is not the one to decide it.
    staff.goto(f"{live_server.url}/moderation/queue/?state=appeals")
    expect(staff.locator(f"#case-{case.pk}")).to_contain_text("appeal")
    other = new_page()
    log_in(other, live_server, second.email, PASSWORD)
    other.goto(f"{live_server.url}/moderation/queue/?state=appeals")
    other.locator(f"#case-{case.pk}").get_by_role("link").click()
    expect(other.locator("#appeal-message")).to_have_text("It is a classical painting, not a photo.")
    _play(other, other.locator("video"))  # from quarantine, staff-only
    other.get_by_label("Reason (the creator sees it)").fill("Artwork; the flag was wrong.")
    screenshot(other, "moderation_appeal")
    other.get_by_role("button", name=re.compile("Overturn")).click()
    expect(other.locator("#case-state")).to_have_text("Approved")

    # 5. The creator's video is back and plays; the refund happened once.
    member.goto(f"{live_server.url}/generations/jobs/{job.pk}/")
    expect(member.locator("#moderation")).to_contain_text("overturned")
    _play(member, member.locator("#job-status video"))
    screenshot(member, "moderation_job_restored")
    assert LedgerTransaction.objects.filter(kind=TxKind.JOB_REFUND, hold=job.hold).count() == 1
    assert balance(creator, team) == after_charge + charged
    assert no_horizontal_scroll(member)

    # 6. Every decision is in the audit log (staff see all teams); the staff money page finds the team by name.
    other.get_by_role("link", name="← Review queue").click()
    other.get_by_role("navigation", name="Moderation").get_by_role("link", name="Audit log").click()
    log = other.locator("table.audit")
    expect(log).to_contain_text("Moderation decision")
    expect(log).to_contain_text("Appeal filed")
    expect(log).to_contain_text("Appeal decided")
    expect(log).to_contain_text("Refund")
    screenshot(other, "moderation_audit_log")
    other.get_by_role("navigation", name="Moderation").get_by_role("link", name="Staff money").click()
    other.get_by_label("Team or user").fill("northwind")
    other.get_by_role("button", name="Find").click()
    expect(other.locator("table.wallets")).to_contain_text("Team pool: Northwind Films")
    screenshot(other, "moderation_staff_money")
