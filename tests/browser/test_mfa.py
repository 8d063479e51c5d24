"""MFA in a real browser: signing in with a TOTP code, and a team that requires MFA holding back a member until they
enrol through allauth's authenticator-app page."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value, yield_hotp_counters_from_time

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SECRET = "JBSWY3DPEHPK3PXP"


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, next(iter(yield_hotp_counters_from_time()))))


def test_mfa_sign_in_with_totp(page, live_server) -> None:
    team = TeamFactory(name="Northwind Films")
    user = UserFactory(email="dana@example.com", active_team=team)
    MembershipFactory(team=team, user=user, role="owner")
    TOTP.activate(user, SECRET)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/2fa/authenticate/$"))
    screenshot(page, "mfa-code")
    page.fill("input[name=code]", "000000")
    page.click("button[type=submit]")
    assert "Incorrect code" in page.locator('form[action="/accounts/2fa/authenticate/"]').inner_text()
    page.fill("input[name=code]", code_for(SECRET))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").first.inner_text() == "Northwind Films"


def test_mfa_team_requirement_holds_back_until_enrolled(page, live_server) -> None:
    team = TeamFactory(name="Secure Co", require_mfa=True)
    owner = UserFactory(email="owner@example.com", active_team=team)
    MembershipFactory(team=team, user=owner, role="owner")
    TOTP.activate(owner, SECRET)
    member = UserFactory(email="member@example.com", active_team=team)
    MembershipFactory(team=team, user=member, role="member")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", member.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    # Held back: allauth first asks for the password again, then shows the authenticator app set-up.
    page.wait_for_url(re.compile(r".*/accounts/reauthenticate/.*"))
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/2fa/totp/activate/$"))
    assert "Secure Co requires two-factor authentication" in page.content()
    screenshot(page, "mfa-enrol-required")
    page.goto(f"{live_server.url}/")
    page.wait_for_url(re.compile(r".*/accounts/2fa/totp/activate/$"))  # still held back
    secret = page.locator("#authenticator_secret").input_value()
    page.fill("input[name=code]", code_for(secret))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/2fa/recovery-codes/.*|.*/accounts/2fa/$"))
    page.goto(f"{live_server.url}/")
    assert page.locator("h1").first.inner_text() == "Secure Co"
    screenshot(page, "mfa-enrolled-dashboard")
