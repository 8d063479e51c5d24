"""Asset library pages from every side: owner, admin, member, viewer, outsider."""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from studio.assets.models import Asset
from tests.assets.images import bulk_assets, make_asset
from tests.conftest import World

ROLES = ["owner", "admin", "member", "viewer"]


@pytest.fixture
def asset(world: World) -> Asset:
    return make_asset(world.team, world.owner, filename="Hero shot.png", tags=["product"])


@pytest.mark.parametrize("who", ROLES)
def test_the_list_shows_the_active_teams_assets(world: World, asset: Asset, who: str) -> None:
    make_asset(world.outsider_team, world.outsider, filename="Secret thing.png")
    body = world.client_for(getattr(world, who)).get(reverse("assets:list")).content.decode()
    assert "Hero shot" in body and "Secret thing" not in body


def test_the_outsider_sees_only_their_own_library(world: World, asset: Asset) -> None:
    body = world.client_for(world.outsider).get(reverse("assets:list")).content.decode()
    assert "Hero shot" not in body and "reference library is empty" in body


def test_search_by_name_ref_name_and_tag(world: World, asset: Asset) -> None:
    make_asset(world.team, world.owner, filename="Backdrop.png")
    client = world.client_for(world.viewer)
    for query in ("hero", "Hero_shot", "prod"):
        body = client.get(reverse("assets:list"), {"q": query}).content.decode()
        assert "Hero shot" in body and "Backdrop" not in body, query
    body = client.get(reverse("assets:list"), {"tag": "product"}).content.decode()
    assert "Hero shot" in body and "Backdrop" not in body
    body = client.get(reverse("assets:list"), {"q": "nothing-like-it"}).content.decode()
    assert "No assets match" in body


def test_search_with_htmx_returns_the_grid_fragment(world: World, asset: Asset) -> None:
    response = world.client_for(world.member).get(reverse("assets:list"), {"q": "hero"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Hero shot" in body and "<html" not in body


def test_the_list_is_paginated(world: World) -> None:
    for n in range(26):
        make_asset(world.team, world.owner, filename=f"a{n}.png")
    body = world.client_for(world.member).get(reverse("assets:list"), {"page": 2}).content.decode()
    assert "Page 2 of 2" in body


@pytest.mark.parametrize(("who", "status"), [*((r, 200) for r in ROLES), ("outsider", 404)])
def test_detail_from_every_side(world: World, asset: Asset, who: str, status: int) -> None:
    response = world.client_for(getattr(world, who)).get(reverse("assets:detail", kwargs={"pk": asset.pk}))
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert "@Hero_shot" in body
        assert asset.file.name not in body  # only signed URLs, never raw storage paths


def test_the_image_is_served_through_a_signed_url_only(world: World, asset: Asset) -> None:
    body = world.client_for(world.viewer).get(reverse("assets:detail", kwargs={"pk": asset.pk})).content.decode()
    urls = re.findall(r'src="(/files/[^"]+)"', body)
    assert urls
    anonymous = Client()
    response = anonymous.get(urls[0])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert anonymous.get(urls[0][:-3] + "xx/").status_code == 404  # a tampered token


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 302), ("admin", 302), ("member", 302), ("viewer", 403), ("outsider", 404)]
)
def test_edit_from_every_side(world: World, asset: Asset, who: str, status: int) -> None:
    url = reverse("assets:edit", kwargs={"pk": asset.pk})
    client = world.client_for(getattr(world, who))
    assert client.get(url).status_code == (200 if status == 302 else status)
    response = client.post(
        url,
        {
            "name": "Hero",
            "ref_name": "hero",
            "default_type": "background",
            "project": world.project.pk,
            "tags": "Product, launch",
        },
    )
    assert response.status_code == status
    asset.refresh_from_db()
    if status == 302:
        assert (asset.name, asset.ref_name, asset.default_type, asset.project) == (
            "Hero",
            "hero",
            "background",
            world.project,
        )
        assert sorted(t.name for t in asset.tags.all()) == ["launch", "product"]
    else:
        assert asset.ref_name == "Hero_shot"


@pytest.mark.parametrize(
    ("ref_name", "says"),
    [("red car", "letters"), ("@hero", "without"), ("x" * 31, ""), ("taken", "already used")],
)
def test_edit_refuses_bad_ref_names(world: World, asset: Asset, ref_name: str, says: str) -> None:
    make_asset(world.team, world.owner, filename="taken.png")
    response = world.client_for(world.member).post(
        reverse("assets:edit", kwargs={"pk": asset.pk}), {"name": "x", "ref_name": ref_name, "default_type": "subject"}
    )
    assert response.status_code == 400
    assert says in response.content.decode()
    asset.refresh_from_db()
    assert asset.ref_name == "Hero_shot"


def test_edit_cannot_pin_another_teams_project(world: World, asset: Asset) -> None:
    response = world.client_for(world.owner).post(
        reverse("assets:edit", kwargs={"pk": asset.pk}),
        {"name": "x", "ref_name": "x", "default_type": "subject", "project": world.outsider_project.pk},
    )
    assert response.status_code == 400
    asset.refresh_from_db()
    assert asset.project is None


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 302), ("admin", 302), ("member", 403), ("viewer", 403), ("outsider", 404)]
)
def test_delete_from_every_side(
    world: World, asset: Asset, who: str, status: int, django_capture_on_commit_callbacks
) -> None:
    url = reverse("assets:delete", kwargs={"pk": asset.pk})
    client = world.client_for(getattr(world, who))
    assert client.get(url).status_code == (200 if status == 302 else status)  # the confirmation page
    name = asset.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == status
    deleted = status == 302
    assert Asset.objects.filter(pk=asset.pk).exists() != deleted
    assert default_storage.exists(name) != deleted


def test_the_dashboard_shows_recent_assets_and_projects(world: World, asset: Asset) -> None:
    body = world.client_for(world.viewer).get(reverse("dashboard")).content.decode()
    assert "Acme" in body and "Launch film" in body and "Hero shot" in body
    assert "Upload images" not in body  # a viewer is not offered what they cannot do


@pytest.mark.postgres
def test_the_asset_list_reads_the_newest_assets_from_an_index(world: World) -> None:
    import json

    from django.db import connection

    from studio.assets import selectors
    from tests.billing.conftest import skip_unless_postgres

    skip_unless_postgres()
    bulk_assets(world.team, 3000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        sql, params = selectors.asset_list(team=world.team)[:24].query.sql_with_params()
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = json.dumps(cursor.fetchone()[0])
    assert "assets_team_recent" in plan, plan
    assert '"Node Type": "Sort"' not in plan, plan
