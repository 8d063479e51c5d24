"""A creator makes a project, renames it, archives it (it leaves the list) and restores it (it comes back)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_rename_archive_and_restore_a_project(page, live_server) -> None:
    team = TeamFactory(name="Northwind Films")
    owner = UserFactory(email="dana@example.com", active_team=team)
    MembershipFactory(team=team, user=owner, role="owner")
    log_in(page, live_server, owner.email, PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Projects")
    expect(page.get_by_text("No projects in Northwind Films yet.")).to_be_visible()
    screenshot(page, "projects_empty")

    page.get_by_role("link", name="New project").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New project in Northwind Films")
    page.get_by_label("Name").fill("Spring campaign")
    page.get_by_label("Description").fill("Teasers for the spring launch.")
    screenshot(page, "project_form")
    page.get_by_role("button", name="Create project").click()

    expect(page).to_have_url(re.compile(r"/projects/\d+/$"))
    project_url = page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Spring campaign")
    expect(page.get_by_role("status")).to_contain_text("Project Spring campaign created.")
    expect(page.get_by_text("Teasers for the spring launch.")).to_be_visible()
    screenshot(page, "project_detail")

    page.get_by_role("link", name="Rename / describe").click()
    expect(page.get_by_label("Name")).to_have_value("Spring campaign")
    page.get_by_label("Name").fill("Spring campaign 2026")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(project_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Spring campaign 2026")
    expect(page.get_by_role("status")).to_contain_text("Project saved.")

    # Archiving asks first; dismissing the question changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Archive").click()
    expect(page).to_have_url(project_url)
    expect(page.locator("h1 .badge")).to_have_count(0)

    questions: list[str] = []

    def accept(dialog) -> None:  # type: ignore[no-untyped-def]
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Archive").click()
    expect(page).to_have_url(f"{live_server.url}/projects/")
    assert questions and "Archive Spring campaign 2026?" in questions[0]
    expect(page.get_by_role("status")).to_contain_text("Project Spring campaign 2026 archived.")
    expect(page.get_by_role("link", name="Spring campaign 2026")).to_have_count(0)
    screenshot(page, "projects_after_archive")

    page.get_by_role("link", name="Show archived (1)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Archived projects")
    page.get_by_role("link", name="Spring campaign 2026").click()
    expect(page.locator("h1")).to_contain_text("archived")
    page.get_by_role("button", name="Restore").click()
    expect(page).to_have_url(project_url)
    expect(page.get_by_role("status")).to_contain_text("Project Spring campaign 2026 restored.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Spring campaign 2026")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    expect(page.get_by_role("link", name="Spring campaign 2026")).to_be_visible()
    expect(page.get_by_role("link", name="Show archived (0)")).to_be_visible()
    screenshot(page, "projects_list")
