"""The layout: nav, team switcher, notification count, dashboard empty states."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.notifications.models import Notification
from studio.projects.models import Project
from studio.teams.models import Membership, Role, Team
from tests.conftest import World


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer", "outsider"])
def test_the_nav_links_every_section_and_the_active_team(world: World, who: str) -> None:
    user = getattr(world, who)
    body = world.client_for(user).get(reverse("dashboard")).content.decode()
    team = world.outsider_team if who == "outsider" else world.team
    for url in (reverse("projects:list"), reverse("assets:list"), reverse("teams:detail", kwargs={"pk": team.pk})):
        assert f'href="{url}"' in body
    assert team.name in body


def test_the_switcher_lists_my_other_teams_with_post_forms(world: World) -> None:
    other = Team.objects.create(name="Side Gig", slug="side-gig")
    Membership.objects.create(team=other, user=world.member, role=Role.MEMBER)
    body = world.client_for(world.member).get(reverse("dashboard")).content.decode()
    assert "Side Gig" in body and reverse("teams:switch", kwargs={"pk": other.pk}) in body
    assert "Other Co" not in body


def test_the_unread_notification_count_is_shown(world: World) -> None:
    Notification.objects.create(user=world.member, kind="x", message="one")
    Notification.objects.create(user=world.member, kind="x", message="two")
    Notification.objects.create(user=world.owner, kind="x", message="not bob's")
    # Not the dashboard: its first visit adds a (keyed, once per user) welcome notification.
    body = world.client_for(world.member).get(reverse("projects:list")).content.decode()
    assert 'aria-label="2 unread notifications"' in body


def test_the_dashboard_welcomes_an_empty_team(world: World) -> None:
    Project.objects.filter(team=world.outsider_team).delete()
    body = world.client_for(world.outsider).get(reverse("dashboard")).content.decode()
    assert "No projects yet" in body and "No reference images yet" in body
    assert "Create your first project" in body


@pytest.mark.django_db  # the login page lists the configured SSO providers
def test_anonymous_visitors_see_log_in_and_sign_up(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get(reverse("account_login")).content.decode()
    assert reverse("account_signup") in body


def test_a_403_names_the_missing_permission(world: World) -> None:
    response = world.client_for(world.viewer).get(reverse("assets:upload"))
    assert response.status_code == 403
    assert "may not upload reference assets" in response.content.decode()


def test_a_user_without_a_team_gets_a_welcome_not_an_error(db: None) -> None:
    from django.test import Client

    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory())
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200 and "Create a team" in response.content.decode()


def test_the_path_tag_gives_what_reverse_gives_under_a_script_prefix_and_refuses_unknown_names() -> None:
    """``{% path %}`` (studio/templatetags/studio_urls.py) caches argument-less URLs per script prefix and URLconf:
    behind ``/studio/`` the layout's links follow the prefix, as ``{% url %}``'s do; an unknown name still fails."""
    from django.template import Context, Template
    from django.urls import NoReverseMatch, set_script_prefix

    page = Template("{% load studio_urls %}{% path 'dashboard' %} {% path 'projects:list' as p %}[{{ p }}]")
    assert page.render(Context()) == f"{reverse('dashboard')} [{reverse('projects:list')}]"
    set_script_prefix("/studio/")
    try:
        assert page.render(Context()) == f"{reverse('dashboard')} [{reverse('projects:list')}]"
        assert reverse("dashboard").startswith("/studio/")
    finally:
        set_script_prefix("/")
    assert page.render(Context()).startswith(reverse("dashboard") + " ")
    with pytest.raises(NoReverseMatch):
        Template("{% load studio_urls %}{% path 'no-such-page' %}").render(Context())


def test_the_path_tag_with_ids_gives_what_reverse_gives() -> None:
    """``{% path 'name' pk=… %}`` (``reverse_ids``) reverses once with marker ids and puts each real id in: the same
    path as ``reverse`` for ints and UUIDs, under a script prefix too; other arguments are reversed as usual."""
    import uuid

    from django.template import Context, Template
    from django.urls import NoReverseMatch, set_script_prefix

    from studio.templatetags.studio_urls import reverse_ids

    job = uuid.uuid4()
    page = Template("{% load studio_urls %}{% path 'assets:detail' pk=pk %} {% path 'generations:job' pk=job %}")
    for pk in (0, 7, 9_000_000_000_000_000_000, 12345678901234):
        expected = f"{reverse('assets:detail', kwargs={'pk': pk})} {reverse('generations:job', kwargs={'pk': job})}"
        assert page.render(Context({"pk": pk, "job": job})) == expected
    set_script_prefix("/studio/")
    try:
        assert page.render(Context({"pk": 5, "job": job})).startswith("/studio/assets/5/ /studio/")
    finally:
        set_script_prefix("/")
    assert reverse_ids("assets:detail", pk="12") == reverse("assets:detail", kwargs={"pk": "12"})
    with pytest.raises(NoReverseMatch):
        reverse_ids("assets:detail", pk=-1)
    with pytest.raises(NoReverseMatch):
        reverse_ids("no-such-page", pk=1)
