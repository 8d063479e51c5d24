"""Issue 13 finding 14: in local DEBUG mode, a member removed from a team (and any non-staff visitor) gets the friendly
404 and 403 pages, never Django's debug page listing every URL pattern; staff still get the debug page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import World

DEBUG_PAGE = "Using the URLconf defined in"


@pytest.fixture
def debug_mode(settings: Any) -> None:
    settings.DEBUG = True


@pytest.mark.django_db
def test_finding_14_removed_member_gets_the_friendly_404_in_debug(world: World, debug_mode: None) -> None:
    from studio.teams.models import Membership

    client = world.client_for(world.member)
    assert client.get(f"/projects/{world.project.pk}/").status_code == 200
    Membership.objects.filter(team=world.team, user=world.member).delete()
    for url in (f"/projects/{world.project.pk}/", f"/teams/{world.team.pk}/", "/no-such-page/"):
        response = client.get(url)
        assert response.status_code == 404, url
        body = response.content.decode()
        assert DEBUG_PAGE not in body and "urlpatterns" not in body
        assert "This page does not exist, or it belongs to a team you are not a member of." in body


@pytest.mark.django_db
def test_finding_14_anonymous_visitor_gets_the_friendly_404_in_debug(client: Any, debug_mode: None) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and DEBUG_PAGE not in response.content.decode()


@pytest.mark.django_db
def test_finding_14_viewer_gets_the_friendly_403_in_debug(world: World, debug_mode: None) -> None:
    response = world.client_for(world.viewer).post(f"/teams/{world.team.pk}/edit/", {"name": "Renamed"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "You can't do that here" in body and "Traceback" not in body


@pytest.mark.django_db
def test_finding_14_staff_still_get_the_debug_page(world: World, debug_mode: None) -> None:
    world.owner.is_staff = True
    world.owner.save()
    response = world.client_for(world.owner).get("/no-such-page/")
    assert response.status_code == 404 and DEBUG_PAGE in response.content.decode()
