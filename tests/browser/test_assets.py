"""The reference library: several images uploaded at once, each with its own verdict; finding them again by tag."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import image_file, log_in, screenshot
from tests.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'


@pytest.fixture
def creator(live_server, page):  # type: ignore[no-untyped-def]
    team = TeamFactory(name="Northwind Films")
    user = UserFactory(email="dana@example.com", active_team=team)
    MembershipFactory(team=team, user=user, role="member")
    log_in(page, live_server, user.email, PASSWORD)
    return user


def upload(page, files, *, tags: str = "") -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assets").click()
    page.get_by_role("link", name="Upload images").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Upload reference images")
    page.get_by_label("Images").set_input_files(files)
    if tags:
        page.get_by_label("Tags").fill(tags)
    page.get_by_role("button", name="Upload", exact=True).click()


def test_several_images_at_once_and_a_bad_file_gets_its_own_rejection(page, live_server, creator, tmp_path) -> None:
    svg = tmp_path / "logo.svg"
    svg.write_bytes(SVG)
    files = [
        image_file(tmp_path, "red-car.png"),
        image_file(tmp_path, "beach.jpg", "JPEG"),
        image_file(tmp_path, "studio-wall.png"),
        svg,
    ]
    upload(page, files, tags="launch, outdoor")

    results = page.locator("#upload-results")
    expect(results).to_contain_text("3 accepted · 0 reused duplicates · 1 rejected")
    for name, ref in (("red-car.png", "@red_car"), ("beach.jpg", "@beach"), ("studio-wall.png", "@studio_wall")):
        row = results.get_by_role("row").filter(has_text=name)
        expect(row).to_contain_text("Accepted")
        expect(row).to_contain_text(ref)
    bad = results.get_by_role("row").filter(has_text="logo.svg")
    expect(bad).to_contain_text("Rejected")
    expect(bad).to_contain_text("SVG")
    expect(page).to_have_url(re.compile(r"/assets/upload/$"))  # the page stayed, the results came in place
    screenshot(page, "assets_upload_results")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assets").click()
    expect(page.locator(".cards .card")).to_have_count(3)
    expect(page.get_by_text("logo")).to_have_count(0)
    screenshot(page, "assets_list")

    page.get_by_role("link", name="beach").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("beach")
    expect(page.locator("main")).to_contain_text("JPEG · 320 × 240 px")
    image = page.get_by_role("img", name="beach")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 320  # the stored image really loads
    screenshot(page, "asset_detail")


def test_search_assets_by_tag(page, live_server, creator, tmp_path) -> None:
    upload(page, [image_file(tmp_path, "red-car.png"), image_file(tmp_path, "blue-car.png")], tags="car")
    expect(page.locator("#upload-results")).to_contain_text("2 accepted")
    upload(page, [image_file(tmp_path, "beach.png")], tags="landscape")
    expect(page.locator("#upload-results")).to_contain_text("1 accepted")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assets").click()
    cards = page.locator(".cards .card")
    expect(cards).to_have_count(3)

    page.get_by_role("combobox").select_option("car")  # the tag filter applies as soon as it is chosen
    expect(cards).to_have_count(2)
    expect(page).to_have_url(re.compile(r"tag=car"))
    expect(page.get_by_role("link", name="beach")).to_have_count(0)
    expect(page.get_by_role("link", name="red-car", exact=True)).to_be_visible()
    screenshot(page, "assets_filtered_by_tag")

    page.get_by_role("combobox").select_option("")
    expect(cards).to_have_count(3)
    page.get_by_role("searchbox").fill("landscape")  # the search box also matches tags, as you type
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("beach")

    page.get_by_role("searchbox").fill("nothing-like-this")
    expect(page.get_by_text("No assets match “nothing-like-this”.")).to_be_visible()
    screenshot(page, "assets_no_match")
    page.get_by_role("link", name="Clear the search").click()
    expect(cards).to_have_count(3)

    # A tag on a card is a link to everything with that tag.
    cards.filter(has_text="beach").get_by_role("link", name="landscape").click()
    expect(cards).to_have_count(1)
    expect(page.get_by_role("combobox")).to_have_value("landscape")
