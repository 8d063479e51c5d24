"""Teams from both sides: an owner invites someone, the invitee accepts in their own browser and sees a viewer's
read-only portal; a person in several teams moves between them with the team switcher."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, MembershipFactory, ProjectFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_invites_a_viewer_who_accepts_and_gets_a_read_only_view(new_page, live_server, mailoutbox) -> None:
    team = TeamFactory(name="Northwind Films")
    owner = UserFactory(email="dana@example.com", name="Dana Scully", active_team=team)
    MembershipFactory(team=team, user=owner, role="owner")
    ProjectFactory(team=team, name="Spring campaign", created_by=owner)
    own_team = TeamFactory(name="Vic's studio")
    invitee = UserFactory(email="vic@example.com", name="Vic Viewer", active_team=own_team)
    MembershipFactory(team=own_team, user=invitee, role="owner")

    owner_page = new_page()
    log_in(owner_page, live_server, owner.email, PASSWORD)
    owner_page.get_by_role("link", name="Invite people").click()
    expect(owner_page.get_by_role("heading", level=1)).to_have_text("Invite someone to Northwind Films")
    owner_page.get_by_label("Email").fill("vic@example.com")
    owner_page.get_by_label("Role").select_option(label="Viewer")
    screenshot(owner_page, "team_invite")
    owner_page.get_by_role("button", name="Send invitation").click()

    expect(owner_page.get_by_role("heading", level=1)).to_contain_text("Northwind Films")
    expect(owner_page.get_by_role("status")).to_contain_text("Invitation sent to vic@example.com")
    pending = owner_page.get_by_role("row").filter(has_text="vic@example.com")
    expect(pending).to_contain_text("Viewer")
    expect(pending.get_by_role("button", name="Revoke")).to_be_visible()
    screenshot(owner_page, "team_detail_owner")

    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["vic@example.com"]
    link = re.search(r"https?://\S+/teams/invitations/accept/\S+/", mailoutbox[0].body)
    assert link, mailoutbox[0].body
    accept_path = "/" + link.group(0).split("/", 3)[3]

    # The invitee opens the link in their own browser: first they are asked to log in, then they land back on it.
    guest = new_page()
    guest.goto(f"{live_server.url}{accept_path}")
    expect(guest).to_have_url(re.compile(r"/accounts/login/"))
    guest.fill("input[name=login]", invitee.email)
    guest.fill("input[name=password]", PASSWORD)
    guest.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(guest).to_have_url(f"{live_server.url}{accept_path}")
    expect(guest.get_by_role("heading", level=1)).to_have_text("Join Northwind Films")
    expect(guest.locator("main")).to_contain_text("Dana Scully invited you to join Northwind Films as Viewer.")
    screenshot(guest, "invitation_accept")
    guest.get_by_role("button", name="Accept and join").click()

    expect(guest.get_by_role("status")).to_contain_text("Welcome to Northwind Films! You joined as Viewer.")
    expect(guest.locator("main")).to_contain_text("You are viewer of this team")
    expect(guest.get_by_role("row").filter(has_text="vic@example.com")).to_contain_text("Viewer")
    expect(guest.get_by_role("button", name="Send invitation")).to_have_count(0)  # viewers do not invite
    expect(guest.locator("summary", has_text="Northwind Films")).to_be_visible()  # joining made it the active team
    guest.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(guest.get_by_role("heading", level=1)).to_have_text("Northwind Films")
    expect(guest.locator(".hero")).to_contain_text("Viewer · 2 members")
    screenshot(guest, "dashboard_viewer")

    # A viewer sees the team's work but has no way to change it.
    expect(guest.get_by_role("link", name="Spring campaign")).to_be_visible()
    for label in ("New project", "Upload reference images", "Invite people", "Create your first project"):
        expect(guest.get_by_role("link", name=label)).to_have_count(0)
    guest.get_by_role("navigation", name="Main").get_by_role("link", name="Assets").click()
    expect(guest.get_by_role("heading", level=1)).to_have_text("Reference assets")
    expect(guest.get_by_text("Your team's reference library is empty.")).to_be_visible()
    expect(guest.get_by_role("link", name=re.compile("upload", re.I))).to_have_count(0)
    expect(guest.locator("input[type=file]")).to_have_count(0)
    screenshot(guest, "assets_viewer")
    guest.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    expect(guest.get_by_role("link", name="New project")).to_have_count(0)
    guest.get_by_role("link", name="Spring campaign").click()
    expect(guest.get_by_role("heading", level=1)).to_have_text("Spring campaign")
    expect(guest.get_by_role("button", name="Archive")).to_have_count(0)
    expect(guest.get_by_role("link", name="Rename / describe")).to_have_count(0)

    # Typing the upload address by hand explains the refusal instead of showing a form.
    response = guest.goto(f"{live_server.url}/assets/upload/")
    assert response is not None and response.status == 403
    expect(guest.get_by_role("heading", level=1)).to_have_text("You can't do that here")
    expect(guest.locator("main")).to_contain_text("may not upload reference assets")
    expect(guest.locator("input[type=file]")).to_have_count(0)
    screenshot(guest, "forbidden_upload_viewer")

    # The owner sees the new member; the invitation is no longer pending.
    owner_page.reload()
    expect(owner_page.get_by_role("row").filter(has_text="vic@example.com")).to_contain_text("Viewer")
    expect(owner_page.get_by_text("No open invitations.")).to_be_visible()


def test_switch_teams_with_the_team_switcher(page, live_server) -> None:
    home = TeamFactory(name="Northwind Films")
    side = TeamFactory(name="Side Gig")
    user = UserFactory(email="dana@example.com", active_team=home)
    MembershipFactory(team=home, user=user, role="owner")
    MembershipFactory(team=side, user=user, role="member")
    ProjectFactory(team=home, name="Spring campaign", created_by=user)
    ProjectFactory(team=side, name="Music video", created_by=user)
    log_in(page, live_server, user.email, PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    expect(page.get_by_role("link", name="Spring campaign")).to_be_visible()
    expect(page.get_by_role("link", name="Music video")).to_have_count(0)

    switcher = page.locator("summary", has_text="Northwind Films")
    switcher.click()
    menu = page.locator(".switcher-menu")
    expect(menu).to_be_visible()
    expect(menu).to_contain_text("Northwind Films")  # the current team, marked, not a button
    expect(menu.get_by_role("button", name="Northwind Films")).to_have_count(0)
    screenshot(page, "team_switcher_open")
    menu.get_by_role("button", name="Side Gig").click()

    # The switch keeps you on the same page, now showing the other team's work.
    expect(page).to_have_url(f"{live_server.url}/projects/")
    expect(page.get_by_role("status")).to_contain_text("You are now working in Side Gig.")
    expect(page.locator("summary", has_text="Side Gig")).to_be_visible()
    expect(page.get_by_role("link", name="Music video")).to_be_visible()
    expect(page.get_by_role("link", name="Spring campaign")).to_have_count(0)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Side Gig")
    expect(page.locator(".hero")).to_contain_text("Member")
    expect(page.get_by_role("link", name="Invite people")).to_have_count(0)  # members do not invite

    page.locator("summary", has_text="Side Gig").click()
    page.locator(".switcher-menu").get_by_role("link", name="All teams").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your teams")
    expect(page.get_by_role("row").filter(has_text="Side Gig")).to_contain_text("active")
    page.get_by_role("row").filter(has_text="Northwind Films").get_by_role("button", name="Switch to it").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind Films")
    screenshot(page, "teams_list_after_switch")
