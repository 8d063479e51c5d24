"""A new person signs up, confirms their email from the message we send, and starts in their personal team."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_verify_email_and_land_on_the_personal_team(page, live_server, mailoutbox) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Sign up").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("sign up", re.I))
    screenshot(page, "signup")

    page.fill("input[name=email]", "maya.lee@example.com")
    page.fill("input[name=password1]", "a-long-unusual-pass")
    page.fill("input[name=password2]", "a-long-unusual-pass")
    page.get_by_role("button", name=re.compile("sign up", re.I)).click()

    # Nothing is usable before the address is confirmed: the page says where to look.
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("verify your email", re.I))
    expect(page.locator("main")).to_contain_text("maya.lee@example.com")
    screenshot(page, "signup_verification_sent")

    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["maya.lee@example.com"]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body)
    assert link, mailoutbox[0].body
    path = "/" + link.group(0).split("/", 3)[3]
    page.goto(f"{live_server.url}{path}")
    expect(page.locator("main")).to_contain_text("maya.lee@example.com")
    screenshot(page, "signup_confirm_email")
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("maya.lee's studio")
    expect(page.locator(".hero")).to_contain_text("Owner · 1 member")
    expect(page.get_by_text("No projects yet.")).to_be_visible()
    expect(page.get_by_role("link", name="Create your first project")).to_be_visible()
    screenshot(page, "dashboard_new_user")
