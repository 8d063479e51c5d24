"""A person logs in with email and password and lands on their team's dashboard."""

import pytest

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_reaches_the_dashboard(page, live_server) -> None:
    team = TeamFactory(name="Northwind Films")
    user = UserFactory(email="dana@example.com", active_team=team)
    MembershipFactory(team=team, user=user, role="owner")

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # anonymous visitors are sent to log in
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").first.inner_text() == "Northwind Films"
    screenshot(page, "dashboard")


def test_wrong_password_shows_a_clear_error(page, live_server) -> None:
    user = UserFactory(email="eve@example.com")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "not correct" in page.content()
    assert "/accounts/login/" in page.url
