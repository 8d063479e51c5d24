"""A reference asset under moderation, in a real browser: a member reports it from its page; a reviewer finds it in
the review queue, sees the image and takes it down with a reason; the uploader finds it gone from the library, reads
why on its page and may appeal."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from studio.moderation.models import Case, CaseState
from tests.assets.images import make_asset
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_report_an_asset_take_it_down_and_the_uploader_sees_why(new_page: Any, live_server: Any) -> None:
    team = TeamFactory(name="Northwind Films")
    uploader = UserFactory(email="dana@example.com", active_team=team)
    member = UserFactory(email="eli@example.com", active_team=team)
    MembershipFactory(team=team, user=uploader, role="owner")
    MembershipFactory(team=team, user=member, role="member")
    reviewer = UserFactory(email="rita.reviewer@example.com", is_staff=True)
    asset = make_asset(team, uploader, name="Beach photo", filename="beach.png")
    make_asset(team, uploader, name="Forest photo", filename="forest.png")

    reporter = new_page()
    log_in(reporter, live_server, member.email, PASSWORD)
    reporter.goto(f"{live_server.url}/assets/{asset.pk}/")
    reporter.get_by_text("Report this asset").click()
    reporter.get_by_label("What is wrong with this image?").fill("This photo belongs to another studio.")
    reporter.get_by_role("button", name="Send report").click()
    expect(reporter.locator("main")).to_contain_text("a reviewer will look at this asset")
    expect(reporter.locator("#moderation")).to_contain_text("You reported this asset")
    screenshot(reporter, "moderation_asset_reported")

    staff = new_page()
    log_in(staff, live_server, reviewer.email, PASSWORD)
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    row = staff.get_by_role("row").filter(has_text="Beach photo")
    expect(row).to_contain_text("@beach")
    screenshot(staff, "moderation_asset_queue")
    row.get_by_role("link").click()
    expect(staff.get_by_role("heading", name="Reference asset")).to_be_visible()
    image = staff.get_by_role("img", name="Beach photo")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") > 0  # the staff-signed image really loads
    expect(staff.get_by_text("Refund the charge")).to_have_count(0)
    staff.get_by_label(re.compile("Reason")).fill("A copyrighted photograph used without a licence.")
    staff.get_by_role("button", name="Take down").click()
    expect(staff.locator("#case-state")).to_have_text("Taken down")
    screenshot(staff, "moderation_asset_case_taken_down")
    assert Case.objects.get(asset=asset).state == CaseState.TAKEN_DOWN

    owner = new_page()
    log_in(owner, live_server, uploader.email, PASSWORD)
    owner.get_by_role("navigation", name="Main").get_by_role("link", name="Assets").click()
    expect(owner.locator(".cards .card")).to_have_count(1)
    expect(owner.locator(".cards")).to_contain_text("Forest photo")
    owner.goto(f"{live_server.url}/assets/{asset.pk}/")
    panel = owner.locator("#moderation")
    expect(panel).to_contain_text("This asset was taken down")
    expect(panel).to_contain_text("A copyrighted photograph used without a licence.")
    expect(owner.get_by_label(re.compile("Appeal this decision"))).to_be_visible()
    expect(owner.get_by_role("button", name="Delete…")).to_have_count(0)
    screenshot(owner, "moderation_asset_taken_down_owner")
