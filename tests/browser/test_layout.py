"""The frame around every page, on a laptop and on a 375 px phone: nothing scrolls sideways, the nav and the team
switcher stay reachable, and the main pages are screenshotted for a person to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.assets.images import make_asset
from tests.browser.conftest import log_in, no_horizontal_scroll, screenshot
from tests.factories import PASSWORD, MembershipFactory, ProjectFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def busy_team(db):  # type: ignore[no-untyped-def]
    """A team with some work in it, and a second team to switch to."""
    team = TeamFactory(name="Northwind Films")
    owner = UserFactory(email="dana.scully-long-address@example.com", name="Dana Scully", active_team=team)
    MembershipFactory(team=team, user=owner, role="owner")
    for role in ("admin", "member", "viewer"):
        MembershipFactory(team=team, user=UserFactory(email=f"{role}@example.com"), role=role)
    MembershipFactory(team=TeamFactory(name="A side project with a long team name"), user=owner, role="member")
    for name in ("Spring campaign", "Product teasers", "Behind the scenes"):
        ProjectFactory(team=team, name=name, created_by=owner, description="Short clips for the launch week.")
    for name in ("hero-shot.png", "red_car.png", "studio-backdrop.png"):
        make_asset(team, owner, filename=name, tags=["launch"])
    return owner


PAGES = [
    ("dashboard_team", "/"),
    ("projects", "/projects/"),
    ("assets", "/assets/"),
    ("assets_upload", "/assets/upload/"),
    ("teams", "/teams/"),
]


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "mobile"])
def test_main_pages_fit_the_screen(new_page, live_server, busy_team, mobile: bool) -> None:
    page = new_page(mobile=mobile)
    log_in(page, live_server, busy_team.email, PASSWORD)
    suffix = "_mobile" if mobile else ""
    for name, path in PAGES:
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        screenshot(page, f"{name}{suffix}")
        assert no_horizontal_scroll(page), f"{path} scrolls sideways at {page.viewport_size}"
    team_id = busy_team.active_team_id
    page.goto(f"{live_server.url}/teams/{team_id}/")
    screenshot(page, f"team_detail{suffix}")
    assert no_horizontal_scroll(page), f"the team page scrolls sideways at {page.viewport_size}"

    # Every section stays one tap away, and the switcher opens inside the screen.
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Dashboard", "Projects", "Assets", "Team"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    page.locator("summary", has_text="Northwind Films").click()
    menu = page.locator(".switcher-menu")
    expect(menu.get_by_role("button", name="A side project with a long team name")).to_be_visible()
    box = menu.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    screenshot(page, f"team_switcher{suffix}")
