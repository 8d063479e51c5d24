"""The pages: composer with a confirm step (exact price and balance after), the job page and its htmx status
fragment, cancel/retry/remix, the project library — from the member's, the viewer's and the outsider's side."""

from __future__ import annotations

import re

from django.urls import reverse

from generations.models import GenerationJob
from generations.states import State
from tests.generations.helpers import balance


def compose_data(pipeline, **overrides):
    data = {
        "mode": "i2v",
        "prompt": "the cat blinks",
        "image": str(pipeline.cat.pk),
        "resolution": "540p",
        "duration": "3",
        "aspect_ratio": "16:9",
        "provider": "auto",
    }
    data.update(overrides)
    return data


def test_composer_shows_the_exact_price_before_confirming_then_creates(pipeline):
    world = pipeline.world
    client = world.client_for(world.member)
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    page = client.get(url)
    assert page.status_code == 200
    for mode in ("i2v", "r2v", "t2v"):
        assert f'value="{mode}"' in page.content.decode()
    before = balance(world.member, world.team)

    preview = client.post(url, compose_data(pipeline))
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "24 credits" in html  # 540p without audio: 8 credits/s × 3 s
    assert f"Balance after: <strong>{before - 24}</strong>" in html
    assert 'name="confirm"' in html
    assert GenerationJob.objects.count() == 0
    assert balance(world.member, world.team) == before

    confirmed = client.post(url, {**compose_data(pipeline), "confirm": "1"})
    job = GenerationJob.objects.get()
    assert confirmed.status_code == 302 and confirmed.url == reverse("generations:job", kwargs={"pk": job.pk})
    assert job.quoted_credits == 24 and balance(world.member, world.team) == before - 24

    status = client.get(reverse("generations:job-status", kwargs={"pk": job.pk}))
    assert 'hx-trigger="every 2s"' in status.content.decode()  # keeps polling while the job runs
    pipeline.worker.settle(job)
    assert job.state == State.SUCCEEDED
    status = client.get(reverse("generations:job-status", kwargs={"pk": job.pk}))
    body = status.content.decode()
    assert "<video" in body and "hx-trigger" not in body
    assert client.get(reverse("generations:job-status", kwargs={"pk": job.pk}) + "?format=json").json() == {
        "id": str(job.pk),
        "state": "succeeded",
        "terminal": True,
    }

    project_page = client.get(reverse("projects:detail", kwargs={"pk": world.project.pk})).content.decode()
    assert f'id="job-{job.pk}"' in project_page
    # The library shows a poster; the player is made from data-video-src on hover or click (no inline <video>).
    assert "<video" not in project_page
    video_src = re.search(r'data-video-src="([^"]+)"', project_page).group(1)
    video = client.get(video_src)
    assert video.status_code == 200
    assert b"".join(video.streaming_content)[4:8] == b"ftyp"
    assert "Download" in project_page


def test_composer_errors_land_on_their_fields(pipeline):
    world = pipeline.world
    client = world.client_for(world.member)
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    response = client.post(
        url, compose_data(pipeline, mode="r2v", prompt="@dog runs", image="", ref_asset_1=str(pipeline.cat.pk))
    )
    assert response.status_code == 400
    assert "does not match any reference" in response.content.decode()
    assert GenerationJob.objects.count() == 0


def test_composer_refuses_a_retired_image_and_holds_nothing(pipeline):
    """The pickers hide retired assets, but the form takes any of the team's asset ids (a stale page, a rerun): the
    service refuses it, as the API does, and names it."""
    from studio.assets.services import asset_retire

    world = pipeline.world
    client = world.client_for(world.member)
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    asset_retire(asset=pipeline.cat)
    before = balance(world.member, world.team)
    response = client.post(url, {**compose_data(pipeline), "confirm": "1"})
    assert response.status_code == 400
    assert f"@{pipeline.cat.ref_name} is retired; restore it in the asset library" in response.content.decode()
    assert GenerationJob.objects.count() == 0 and balance(world.member, world.team) == before
    asset_retire(asset=pipeline.cat, retired=False)
    assert client.post(url, compose_data(pipeline)).status_code == 200


def test_live_quote_fragment(pipeline):
    world = pipeline.world
    client = world.client_for(world.member)
    response = client.post(
        reverse("generations:quote", kwargs={"project_pk": world.project.pk}),
        compose_data(pipeline, generate_audio_switch="on"),
    )
    assert response.status_code == 200
    assert "30 credits" in response.content.decode()  # 540p with audio: 10 credits/s × 3 s


def test_viewer_cannot_compose_and_outsider_cannot_see(pipeline):
    world = pipeline.world
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    assert world.client_for(world.viewer).get(url).status_code == 403
    assert world.client_for(world.outsider).get(url).status_code == 404
    member = world.client_for(world.member)
    member.post(url, {**compose_data(pipeline), "confirm": "1"})
    job = GenerationJob.objects.get()
    outsider = world.client_for(world.outsider)
    for name in ("generations:job", "generations:job-status", "generations:remix"):
        assert outsider.get(reverse(name, kwargs={"pk": job.pk})).status_code == 404
    assert outsider.post(reverse("generations:cancel", kwargs={"pk": job.pk})).status_code == 404
    assert world.client_for(world.viewer).get(reverse("generations:job", kwargs={"pk": job.pk})).status_code == 200
    assert world.client_for(world.viewer).post(reverse("generations:cancel", kwargs={"pk": job.pk})).status_code == 403


def test_cancel_retry_and_remix_pages(pipeline):
    world = pipeline.world
    client = world.client_for(world.member)
    client.post(
        reverse("generations:compose", kwargs={"project_pk": world.project.pk}),
        {**compose_data(pipeline), "confirm": "1"},
    )
    job = GenerationJob.objects.get()
    response = client.post(reverse("generations:cancel", kwargs={"pk": job.pk}), follow=True)
    assert "Canceled" in response.content.decode()
    job.refresh_from_db()
    assert job.state == State.CANCELED
    confirm = client.get(reverse("generations:retry", kwargs={"pk": job.pk})).content.decode()
    assert "Confirm: re-run for" in confirm and GenerationJob.objects.count() == 1  # nothing held before confirming
    retry = client.post(reverse("generations:retry", kwargs={"pk": job.pk}), {"confirm": "1"})
    again = GenerationJob.objects.exclude(pk=job.pk).get()
    assert retry.url == reverse("generations:job", kwargs={"pk": again.pk}) and again.parent_id == job.pk
    remix = client.get(reverse("generations:remix", kwargs={"pk": job.pk}), follow=True)
    html = remix.content.decode()
    assert f'value="{job.pk}"' in html and "the cat blinks" in html


def test_the_cancel_charge_policy_and_the_unknown_policy_are_stated_on_the_pages(pipeline):
    """The charge policy of a cancel (DESIGN.md §3) is on the composer and the job page; an ``unknown`` job's page
    says it is never sent twice and what happens to the credits."""
    from django.utils.html import escape

    from generations.views import CANCEL_POLICY

    world = pipeline.world
    client = world.client_for(world.member)
    compose = client.get(reverse("generations:compose", kwargs={"project_pk": world.project.pk})).content.decode()
    assert escape(CANCEL_POLICY) in compose
    assert "charge" in CANCEL_POLICY and "credits are returned" in CANCEL_POLICY
    pipeline.emulator.arm(provider="wavespeed", fault="timeout", on="create", times=1)
    client.post(
        reverse("generations:compose", kwargs={"project_pk": world.project.pk}),
        {**compose_data(pipeline, provider="wavespeed"), "confirm": "1"},
    )
    job = GenerationJob.objects.get()
    pipeline.worker.drain()
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    page = client.get(reverse("generations:job", kwargs={"pk": job.pk})).content.decode()
    assert escape(CANCEL_POLICY) in page
    assert "never send it twice" in page and "your credits are returned" in page


def test_change_settings_from_the_confirm_step_keeps_every_value_and_holds_nothing(pipeline):
    world = pipeline.world
    client = world.client_for(world.member)
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    confirm_step = client.post(url, compose_data(pipeline, prompt="the cat yawns slowly")).content.decode()
    assert 'name="edit"' in confirm_step
    before = balance(world.member, world.team)
    editing = client.post(url, {**compose_data(pipeline, prompt="the cat yawns slowly"), "edit": "1"})
    html = editing.content.decode()
    assert editing.status_code == 200
    assert 'name="confirm"' not in html  # back to the editable composer
    assert "the cat yawns slowly</textarea>" in html
    assert re.search(r'<option value="540p"[^>]*selected', html)
    assert GenerationJob.objects.count() == 0
    assert balance(world.member, world.team) == before


def test_a_prompt_ending_in_a_reference_name_gets_its_space(pipeline):
    world = pipeline.world
    client = world.client_for(world.member)
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    data = compose_data(
        pipeline, mode="r2v", prompt="a sunny day with @cat", image="", ref_asset_1=str(pipeline.cat.pk)
    )
    data["ref_name_1"] = "cat"
    response = client.post(url, {**data, "confirm": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert GenerationJob.objects.get().prompt == "a sunny day with @cat "


def test_live_quote_problems_name_fields_by_their_labels(pipeline):
    world = pipeline.world
    client = world.client_for(world.member)
    response = client.post(
        reverse("generations:quote", kwargs={"project_pk": world.project.pk}),
        compose_data(pipeline, mode="r2v", image="", ref_asset_1="999999"),
    )
    body = response.content.decode()
    assert "Reference 1: Select a valid choice" in body
    assert "ref_asset_1" not in body


def test_the_quote_shows_the_cheapest_provider_and_why(pipeline):
    """Auto routing by cost (issue 9 item 6): with a cheaper price table, the quote names that provider and the
    prices it was compared with."""
    from decimal import Decimal

    from django.utils import timezone

    from generations.models import ProviderPrice, ProviderPriceTable

    table = ProviderPriceTable.objects.create(provider="wavespeed", version=2, effective_from=timezone.now().date())
    for audio in (False, True):
        ProviderPrice.objects.create(table=table, resolution="540p", audio=audio, usd_per_second=Decimal("0.001"))
    world = pipeline.world
    response = world.client_for(world.member).post(
        reverse("generations:quote", kwargs={"project_pk": world.project.pk}),
        compose_data(pipeline, provider="auto"),
    )
    html = response.content.decode()
    assert "cheapest healthy provider: WaveSpeed at $0.001/s" in html
    assert "PixVerse Platform $0.04/s" in html
