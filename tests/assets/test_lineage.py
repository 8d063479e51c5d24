"""Reference lineage (issue 10): the asset page lists the videos that used it, retire hides it from pickers, delete
asks first when videos used it, and search finds ``@ref_name``."""

from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import GenerationJob, JobReference
from generations.states import State
from studio.assets.models import Asset
from studio.assets.selectors import picker_assets
from tests.assets.images import make_asset, media_root
from tests.conftest import World

__all__ = ["media_root"]

pytestmark = pytest.mark.django_db


def _used_by(world: World, asset: Asset, ref_name: str, type_: str, prompt: str) -> GenerationJob:
    job = GenerationJob.objects.create(
        team=world.team, project=world.project, creator=world.member, mode="r2v", prompt=prompt, state=State.SUCCEEDED
    )
    JobReference.objects.create(job=job, asset=asset, ref_name=ref_name, type=type_)
    return job


def test_the_asset_page_lists_every_video_that_used_it_with_ref_name_and_type(world: World, media_root) -> None:
    asset = make_asset(world.team, world.owner)
    _used_by(world, asset, "pup", "subject", "@pup runs on the beach")
    _used_by(world, asset, "hero", "background", "a city behind @hero")
    page = world.client_for(world.viewer).get(reverse("assets:detail", kwargs={"pk": asset.pk})).content.decode()
    assert "Used in videos" in page and "@pup runs on the beach" in page and "a city behind @hero" in page
    assert "@hero" in page and "background" in page and "subject" in page


def test_retire_hides_from_pickers_and_keeps_history(world: World, media_root) -> None:
    asset = make_asset(world.team, world.owner)
    job = _used_by(world, asset, "pup", "subject", "@pup")
    client = world.client_for(world.member)
    url = reverse("assets:retire", kwargs={"pk": asset.pk})
    assert world.client_for(world.viewer).post(url).status_code == 403
    client.post(url)
    asset.refresh_from_db()
    assert asset.is_retired and asset not in picker_assets(team_id=world.team.pk)
    assert asset.pk not in [a.pk for a in client.get(reverse("assets:list")).context["page"]]
    assert asset.pk in [a.pk for a in client.get(reverse("assets:list"), {"retired": "1"}).context["page"]]
    assert client.get(reverse("generations:job", kwargs={"pk": job.pk})).status_code == 200
    client.post(url, {"restore": "1"})
    asset.refresh_from_db()
    assert not asset.is_retired


def test_deleting_a_used_asset_asks_first_and_keeps_a_record(world: World, media_root) -> None:
    asset = make_asset(world.team, world.owner)
    job = _used_by(world, asset, "pup", "subject", "@pup")
    client = world.client_for(world.owner)
    url = reverse("assets:delete", kwargs={"pk": asset.pk})
    page = client.get(url).content.decode()
    assert "1 video used this asset" in page and "confirm_used" in page
    refused = client.post(url)
    assert refused.status_code == 400 and Asset.objects.filter(pk=asset.pk).exists()
    client.post(url, {"confirm_used": "1"})
    assert not Asset.objects.filter(pk=asset.pk).exists()
    ref = job.references.get()
    assert ref.asset_id is None and ref.ref_name == "pup" and ref.type == "subject" and "@" in ref.asset_label


def test_asset_search_by_at_ref_name(world: World, media_root) -> None:
    dog = make_asset(world.team, world.owner)
    Asset.objects.filter(pk=dog.pk).update(ref_name="dog", name="Rex")
    cat = make_asset(world.team, world.owner)
    Asset.objects.filter(pk=cat.pk).update(ref_name="cat", name="Dogged cat")
    client = world.client_for(world.member)
    found = [a.pk for a in client.get(reverse("assets:list"), {"q": "@dog"}).context["page"]]
    assert found == [dog.pk]
    assert set(a.pk for a in client.get(reverse("assets:list"), {"q": "dog"}).context["page"]) == {dog.pk, cat.pk}
