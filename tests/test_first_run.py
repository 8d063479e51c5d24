"""First run (issue 10): a new user's dashboard says what to do next and "Welcome" (not "Welcome back") the first
time; local mode prints emails with their links framed; the invitation list has a copy-link button."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.urls import reverse

from studio.mail import LocalConsoleEmailBackend
from tests.conftest import World

pytestmark = pytest.mark.django_db


def test_first_visit_says_welcome_then_welcome_back_and_lists_next_steps(world: World) -> None:
    client = world.client_for(world.member)
    first = client.get(reverse("dashboard")).content.decode()
    assert "Welcome, " in first and "Welcome back" not in first
    assert "What to do next" in first
    assert reverse("projects:detail", kwargs={"pk": world.project.pk}) in first  # open the project
    assert reverse("assets:upload") in first
    assert reverse("generations:compose", kwargs={"project_pk": world.project.pk}) in first
    again = client.get(reverse("dashboard")).content.decode()
    assert "Welcome back" in again


def test_a_user_without_projects_is_told_to_create_one(world: World) -> None:
    world.project.delete()
    page = world.client_for(world.admin).get(reverse("dashboard")).content.decode()
    assert "Create a project" in page


def test_local_mode_prints_each_email_with_its_links_framed() -> None:
    stream = io.StringIO()
    backend = LocalConsoleEmailBackend(stream=stream)
    message = mail.EmailMessage(
        "Confirm your email",
        "Open http://127.0.0.1:8000/accounts/confirm-email/abc/ to verify.",
        to=["new@example.com"],
    )
    backend.send_messages([message])
    out = stream.getvalue()
    assert "EMAIL to new@example.com: Confirm your email" in out
    assert "  LINK: http://127.0.0.1:8000/accounts/confirm-email/abc/" in out


def test_the_invitation_list_has_a_copy_link_button(world: World) -> None:
    client = world.client_for(world.owner)
    client.post(reverse("teams:invite", kwargs={"pk": world.team.pk}), {"email": "new@example.com", "role": "member"})
    page = client.get(reverse("teams:detail", kwargs={"pk": world.team.pk})).content.decode()
    assert ("Copy link" in page and "/teams/invitations/" in page) or "accept" in page


def test_a_viewer_gets_no_setup_steps(world: World) -> None:
    page = world.client_for(world.viewer).get(reverse("dashboard")).content.decode()
    assert "What to do next" not in page and "Welcome, " in page
