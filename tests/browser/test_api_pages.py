"""The API's pages in a real browser: a member creates a token on the account page (shown once), uses it against the
API, and revokes it; a team admin registers a webhook endpoint, sends a test event to a local receiver and sees the
delivery in the log."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, no_horizontal_scroll, screenshot
from tests.factories import PASSWORD, MembershipFactory, ProjectFactory, TeamFactory, UserFactory
from tests.webhooks.receiver import receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_token_is_shown_once_works_against_the_api_and_can_be_revoked(new_page, live_server) -> None:
    team = TeamFactory(name="Northwind Films")
    user = UserFactory(email="dana@example.com", active_team=team)
    MembershipFactory(team=team, user=user, role="member")
    ProjectFactory(team=team, name="Spring campaign", created_by=user)
    page = new_page()
    log_in(page, live_server, user.email, PASSWORD)
    page.goto(f"{live_server.url}/account/tokens/")
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    page.get_by_label("Name").fill("CI pipeline")
    page.get_by_label("Role").select_option("member")
    page.get_by_label("Expires").select_option("30")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("status")).to_contain_text("Copy your new token now")
    raw = page.get_by_test_id("new-token").input_value()
    assert raw.startswith("stu_")
    row = page.get_by_role("row").filter(has_text="CI pipeline")
    expect(row).to_contain_text(raw[:8])
    screenshot(page, "api_tokens_created")

    projects = httpx.get(f"{live_server.url}/api/v1/projects", headers={"Authorization": f"Bearer {raw}"})
    assert projects.status_code == 200 and projects.json()[0]["name"] == "Spring campaign"

    page.reload()
    expect(page.get_by_test_id("new-token")).to_have_count(0)  # shown once
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row").filter(has_text="CI pipeline").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("row").filter(has_text="CI pipeline")).to_contain_text("revoked")
    denied = httpx.get(f"{live_server.url}/api/v1/projects", headers={"Authorization": f"Bearer {raw}"})
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "unauthenticated"

    phone = new_page(mobile=True)
    log_in(phone, live_server, user.email, PASSWORD)
    phone.goto(f"{live_server.url}/account/tokens/")
    screenshot(phone, "api_tokens_mobile")
    assert no_horizontal_scroll(phone) or phone.locator(".table-wrap").count() > 0


def test_an_admin_registers_a_webhook_and_sees_the_test_delivery(new_page, live_server, settings) -> None:
    from studio.celery import app as celery_app

    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    team = TeamFactory(name="Northwind Films")
    admin = UserFactory(email="adam@example.com", active_team=team)
    MembershipFactory(team=team, user=admin, role="admin")
    celery_app.conf.task_always_eager = True  # the test event is delivered in-process, at once
    try:
        with receiver() as hooks:
            page = new_page()
            log_in(page, live_server, admin.email, PASSWORD)
            page.goto(f"{live_server.url}/teams/{team.pk}/")
            page.get_by_role("link", name="Webhooks").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
            page.get_by_label("Url").fill("http://169.254.169.254/latest")
            page.get_by_label("Generation failed").check()
            page.get_by_role("button", name="Add endpoint").click()
            expect(page.locator(".errorlist")).to_contain_text("cannot receive webhooks")
            page.get_by_label("Url").fill(hooks.url)
            page.get_by_role("button", name="Add endpoint").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(hooks.url)
            with page.expect_navigation():  # the form posts and redirects back; reload only once that is done
                page.get_by_role("button", name="Send test event").click()
            hooks.wait_for(1, deadline=30)
            page.reload()
            log = page.get_by_role("row").filter(has_text="webhook.test")
            expect(log).to_contain_text("Delivered")
            expect(log).to_contain_text("200")
            screenshot(page, "webhook_endpoint_detail")
    finally:
        celery_app.conf.task_always_eager = False
