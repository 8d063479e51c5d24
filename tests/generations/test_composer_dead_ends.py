"""Dead ends a new user hit in the composer (issue 10), one regression test each."""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils import timezone

from billing.models import Hold
from generations.models import GenerationJob
from generations.services.jobs import generation_create, job_request_from
from studio.assets.services import asset_delete
from tests.generations.test_views import compose_data


def _confirm_step(client, url, data):
    page = client.post(url, data).content.decode()
    token = re.search(r'name="submission" value="([0-9a-f-]{36})"', page)
    assert token, "the confirm step carries a submission token"
    return token.group(1)


def test_a_second_post_of_the_same_confirm_form_makes_no_second_job(pipeline):
    world = pipeline.world
    client = world.client_for(world.member)
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    token = _confirm_step(client, url, compose_data(pipeline))
    first = client.post(url, {**compose_data(pipeline), "confirm": "1", "submission": token})
    second = client.post(url, {**compose_data(pipeline), "confirm": "1", "submission": token})
    job = GenerationJob.objects.get()
    assert first.url == second.url == reverse("generations:job", kwargs={"pk": job.pk})
    assert Hold.objects.count() == 1
    # A new confirm step is a new token: that is a second video on purpose.
    token2 = _confirm_step(client, url, compose_data(pipeline))
    client.post(url, {**compose_data(pipeline), "confirm": "1", "submission": token2})
    assert GenerationJob.objects.count() == 2


def test_no_new_generation_into_an_archived_project(pipeline):
    world = pipeline.world
    world.project.archived_at = timezone.now()
    world.project.save()
    client = world.client_for(world.member)
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    response = client.post(url, {**compose_data(pipeline), "confirm": "1"})
    assert response.status_code == 400 and "archived" in response.content.decode()
    assert not GenerationJob.objects.exists()
    page = client.get(reverse("projects:detail", kwargs={"pk": world.project.pk})).content.decode()
    assert url not in page  # no "New video" button on an archived project


def test_blocked_by_credits_the_confirm_step_says_why_and_offers_a_way_back(pipeline):
    world = pipeline.world
    client = world.client_for(world.viewer)
    from studio.teams.models import Membership

    Membership.objects.filter(user=world.viewer, team=world.team).update(role="member")  # a member with 0 credits
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    page = client.post(url, compose_data(pipeline, prompt="a very particular prompt")).content.decode()
    assert "Not enough credits" in page
    assert 'name="edit"' in page and "Change settings" in page
    assert "Buy credits" in page or "Ask a team admin" in page
    assert "Confirm: generate" not in page
    back = client.post(url, {**compose_data(pipeline, prompt="a very particular prompt"), "edit": "1"})
    html = back.content.decode()
    assert back.status_code == 200 and "a very particular prompt" in html and "confirming" not in html
    assert not GenerationJob.objects.exists()


def test_rerun_shows_the_price_and_asks_first(pipeline):
    world = pipeline.world
    client = world.client_for(world.member)
    url = reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    token = _confirm_step(client, url, compose_data(pipeline))
    client.post(url, {**compose_data(pipeline), "confirm": "1", "submission": token})
    job = GenerationJob.objects.get()
    pipeline.worker.settle(job)
    retry_url = reverse("generations:retry", kwargs={"pk": job.pk})
    assert f'href="{retry_url}"' in client.get(reverse("generations:job", kwargs={"pk": job.pk})).content.decode()
    page = client.get(retry_url).content.decode()
    assert f"re-run for {job.quoted_credits} credits" in page and GenerationJob.objects.count() == 1
    client.post(retry_url)  # a POST without confirm is the confirm step again
    assert GenerationJob.objects.count() == 1
    token = re.search(r'name="submission" value="([0-9a-f-]{36})"', page).group(1)
    client.post(retry_url, {"confirm": "1", "submission": token})
    client.post(retry_url, {"confirm": "1", "submission": token})
    assert GenerationJob.objects.count() == 2


def test_remixing_a_job_whose_asset_is_gone_says_so(pipeline):
    world = pipeline.world
    from generations.providers.base import Mode
    from tests.generations.test_generation_lifecycle import request_for

    job = generation_create(
        user=world.member, project=world.project, request=request_for(pipeline, Mode.REFERENCE_TO_VIDEO, "wavespeed")
    )
    pipeline.worker.settle(job)
    asset_delete(asset=pipeline.park)
    ref = job.references.get(ref_name="park")
    assert ref.asset_id is None and ref.asset_label == "Park (@park)"  # the record of what was used
    page = world.client_for(world.member).get(reverse("generations:remix", kwargs={"pk": job.pk}), follow=True)
    html = page.content.decode()
    assert "Some inputs of the original video are gone" in html and "@park (Park (@park))" in html
    job_page = world.client_for(world.member).get(reverse("generations:job", kwargs={"pk": job.pk})).content.decode()
    assert "deleted: Park (@park)" in job_page
    try:
        job_request_from(job)
    except Exception as exc:  # a re-run says which reference is gone
        assert "@park" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("a re-run of a job whose asset is gone must refuse")


def test_providers_that_cannot_serve_the_options_come_with_the_reason_and_auto_says_what_it_does(pipeline):
    import json

    world = pipeline.world
    client = world.client_for(world.member)
    page = client.get(reverse("generations:compose", kwargs={"project_pk": world.project.pk})).content.decode()
    # The providers' price tables are seeded (WaveSpeed, PixVerse), so auto routes by cost and its label says so.
    assert "Auto: the cheapest provider that can make it" in page and "in this order" not in page
    quote = client.post(
        reverse("generations:quote", kwargs={"project_pk": world.project.pk}),
        compose_data(pipeline, mode="t2v", image="", prompt="a title card", seed="42"),  # not every provider seeds
    ).content.decode()
    support = json.loads(
        re.search(r'<script id="provider-support" type="application/json">(.*?)</script>', quote).group(1)
    )
    assert set(support) == {"wavespeed", "pixverse", "dashscope", "highway"}
    assert support["pixverse"] == ""  # can make it, seed included
    refused = {name: why for name, why in support.items() if why}
    assert {"wavespeed", "highway"} <= set(refused), "providers without a seed option must say why they are disabled"
    assert all(len(why) > 5 for why in refused.values())
