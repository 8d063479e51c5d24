"""Contract tests of /api/v1/: every endpoint, each error status (one shape), and outsiders' 404s."""

from __future__ import annotations

import csv
import io
import math
import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing.metering import price_credits
from billing.models import Hold
from billing.wallets import member_cap_set, team_billing_update
from generations.models import GenerationJob
from generations.states import State
from studio.accounts.models import ApiToken
from studio.accounts.services import ApiTokenError, api_token_create, api_token_revoke
from studio.assets.models import Asset
from studio.audit.models import AuditAction, AuditEvent
from studio.teams.models import Membership, Role
from tests.api.conftest import Api, api_for, assert_error
from tests.assets.images import image_bytes, upload
from tests.factories import UserFactory
from tests.generations.helpers import balance

# --- Authentication and tokens ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_requests_without_a_valid_token_get_401_in_the_error_shape(client, world):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer nope"}, {"HTTP_AUTHORIZATION": "Basic abc"}):
        response = client.get("/api/v1/projects", **headers)
        assert_error(response, 401, "unauthenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_revoked_and_expired_tokens_stop_working(world):
    api = api_for(world.member, world.team)
    assert api.get("/projects").status_code == 200
    token = ApiToken.objects.get(user=world.member)
    assert token.last_used_at is not None
    api_token_revoke(token=token, actor=world.member)
    assert_error(api.get("/projects"), 401)
    assert AuditEvent.objects.filter(action=AuditAction.API_TOKEN_REVOKED, target_id=str(token.pk)).exists()

    expiring = api_for(world.member, world.team)
    ApiToken.objects.filter(hint=expiring.raw[:8]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(expiring.get("/projects"), 401)


@pytest.mark.django_db
def test_tokens_are_hashed_scoped_audited_and_never_above_the_owners_role(world):
    token, raw = api_token_create(user=world.member, team=world.team, name="ci")
    assert token.token_hash != raw and raw not in token.token_hash and token.hint == raw[:8]
    assert token.role == Role.MEMBER
    assert AuditEvent.objects.filter(action=AuditAction.API_TOKEN_CREATED, target_id=str(token.pk)).exists()
    with pytest.raises(ApiTokenError, match="higher role"):
        api_token_create(user=world.member, team=world.team, role=Role.OWNER)
    with pytest.raises(ApiTokenError, match="member"):
        api_token_create(user=world.member, team=world.outsider_team)


@pytest.mark.django_db
def test_a_token_acts_with_its_own_role_and_shrinks_when_its_user_is_demoted(world):
    viewer_token = api_for(world.owner, world.team, role=Role.VIEWER)
    assert_error(viewer_token.post("/projects", {"name": "x"}), 403, "forbidden")
    member = api_for(world.member, world.team)
    assert member.post("/projects", {"name": "Mine"}).status_code == 201
    Membership.objects.filter(user=world.member, team=world.team).update(role=Role.VIEWER)
    assert_error(member.post("/projects", {"name": "Again"}), 403)
    Membership.objects.filter(user=world.member, team=world.team).delete()
    assert_error(member.get(f"/projects/{world.project.pk}"), 404)


@pytest.mark.django_db
def test_create_api_token_command_scopes_the_token(world, capsys):
    from django.core.management import call_command

    call_command("create_api_token", world.admin.email, "--team", world.team.slug, "--role", "viewer")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(hint=raw[:8])
    assert (token.team_id, token.role) == (world.team.pk, "viewer")


@pytest.mark.django_db
def test_tokens_page_shows_a_new_token_once_and_revokes(world):
    client = world.client_for(world.member)
    form = {"name": "CI", "team": world.team.pk, "role": "member", "expires": "30"}
    response = client.post("/account/tokens/", form, follow=True)
    assert response.status_code == 200 and response.redirect_chain  # POST, redirect, GET: a reload creates nothing
    raw = response.context["created_raw"]
    assert raw.startswith("stu_") and raw in response.content.decode()
    token = ApiToken.objects.get(hint=raw[:8])
    assert token.expires_at is not None
    assert raw not in client.get("/account/tokens/").content.decode()  # shown once
    refused = client.post("/account/tokens/", {"name": "x", "team": world.team.pk, "role": "owner"})
    assert refused.status_code == 400 and ApiToken.objects.filter(user=world.member).count() == 1
    assert world.client_for(world.outsider).post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    client.post(f"/account/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


# --- Error shape ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_malformed_and_invalid_bodies(apis):
    response = apis.member.client.post(
        "/api/v1/projects", "{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {apis.member.raw}"
    )
    assert_error(response, 400, "malformed_request")
    error = assert_error(apis.member.post("/projects", {"name": 12}), 422, "validation_error")
    assert error["field"] == "name"
    assert_error(apis.member.post("/projects", {"name": "a\x00b"}), 422)
    assert_error(
        apis.member.post(
            "/quotes", {"project_id": 1, "mode": "t2v", "references": [{"asset": 1, "ref_name": "a\x00"}]}
        ),
        422,
    )
    assert_error(apis.member.get(f"/projects/{2**40}"), 422)


# --- Projects -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_projects_list_create_archive(apis, world):
    listed = apis.member.get("/projects").json()
    assert [p["id"] for p in listed] == [world.project.pk]
    assert world.outsider_project.pk not in [p["id"] for p in apis.member.get("/projects").json()]
    created = apis.member.post("/projects", {"name": "  Trailer ", "description": "d"})
    assert created.status_code == 201 and created.json()["name"] == "Trailer"
    assert_error(apis.member.post("/projects", {"name": "   "}), 422, "validation_error")
    assert_error(apis.viewer.post("/projects", {"name": "No"}), 403)
    archived = apis.member.post(f"/projects/{world.project.pk}/archive")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert world.project.pk in [p["id"] for p in apis.member.get("/projects", {"archived": "true"}).json()]
    assert_error(apis.viewer.post(f"/projects/{world.project.pk}/archive"), 403)


@pytest.mark.django_db
def test_outsiders_get_404_for_every_object_route(apis, world, pipeline):
    job = GenerationJob.objects.create(
        project=world.project, team=world.team, creator=world.member, mode="t2v", state=State.QUEUED
    )
    asset = pipeline.cat
    outsider: Api = apis.outsider
    for method, path in [
        ("get", f"/projects/{world.project.pk}"),
        ("post", f"/projects/{world.project.pk}/archive"),
        ("get", f"/assets/{asset.pk}"),
        ("post", f"/assets/{asset.pk}/retire"),
        ("get", f"/generations/{job.pk}"),
        ("post", f"/generations/{job.pk}/cancel"),
        ("post", f"/generations/{job.pk}/remix"),
        ("get", f"/generations/{job.pk}/download"),
        ("get", f"/generations/{uuid.uuid4()}"),
    ]:
        assert_error(getattr(outsider, method)(path), 404, "not_found")
    assert_error(outsider.patch(f"/assets/{asset.pk}", {"ref_name": "x"}), 404)
    body = {"project_id": world.project.pk, "mode": "t2v", "prompt": "hello"}
    assert_error(outsider.post("/quotes", body), 404)
    assert_error(outsider.post("/generations", body), 404)
    assert outsider.get("/generations").json()["items"] == []
    assert outsider.get("/assets").json()["items"] == []


# --- Assets ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_asset_upload_uses_the_upload_service_rules(apis, world, media_root, settings):
    png = image_bytes()
    first = apis.member.upload(
        "/assets", {"file": upload("Red car.png", png)}, {"tags": "Product, red", "type": "background"}
    )
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["status"] == "accepted" and body["asset"]["ref_name"] == "Red_car"
    assert body["asset"]["tags"] == ["product", "red"] and body["asset"]["type"] == "background"
    again = apis.member.upload("/assets", {"file": upload("copy.png", png)})
    assert again.status_code == 200 and again.json()["status"] == "reused"
    bad = apis.member.upload("/assets", {"file": upload("notes.png", b"hello, not an image")})
    assert "Only JPEG, PNG and WEBP" in assert_error(bad, 422, "invalid_image")["message"]
    assert_error(apis.member.upload("/assets", {}), 422)
    assert_error(apis.viewer.upload("/assets", {"file": upload("v.png", image_bytes(colour=(1, 2, 3)))}), 403)
    settings.ASSET_MAX_BYTES = 100
    assert_error(apis.member.upload("/assets", {"file": upload("big.png", image_bytes(colour=(9, 9, 9)))}), 413)
    assert Asset.objects.filter(team=world.team).count() == 1


@pytest.mark.django_db
def test_upload_rate_limit_answers_429_with_retry_after(apis, world, media_root, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "upload": (2, 60)}
    for colour in ((1, 1, 1), (2, 2, 2)):
        assert apis.member.upload("/assets", {"file": upload("a.png", image_bytes(colour=colour))}).status_code == 201
    response = apis.member.upload("/assets", {"file": upload("c.png", image_bytes(colour=(3, 3, 3)))})
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    # Per token: another token of the same user is not limited by the first one's count.
    other = api_for(world.member, world.team)
    assert other.upload("/assets", {"file": upload("d.png", image_bytes(colour=(4, 4, 4)))}).status_code == 201


@pytest.mark.django_db
def test_asset_list_get_update_retire(apis, world, pipeline):
    cat, park = pipeline.cat, pipeline.park
    apis.member.patch(f"/assets/{cat.pk}", {"tags": ["pets"]})
    assert [a["id"] for a in apis.member.get("/assets", {"tag": "pets"}).json()["items"]] == [cat.pk]
    assert [a["id"] for a in apis.member.get("/assets", {"q": "par"}).json()["items"]] == [park.pk]
    page = apis.member.get("/assets", {"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = apis.member.get("/assets", {"limit": 1, "cursor": page["next_cursor"]}).json()
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {cat.pk, park.pk}
    assert_error(apis.member.get("/assets", {"cursor": "garbage!"}), 422, "invalid_cursor")
    got = apis.member.get(f"/assets/{cat.pk}").json()
    assert got["ref_name"] == "cat" and got["url"]
    assert_error(apis.member.patch(f"/assets/{cat.pk}", {"tags": ["ok", "bad\x00tag"]}), 422)  # NUL, nested
    bad = apis.member.patch(f"/assets/{cat.pk}", {"ref_name": "@cat"})
    assert 'without "@"' in assert_error(bad, 422)["message"]
    taken = apis.member.patch(f"/assets/{cat.pk}", {"ref_name": "park"})
    assert "already used" in assert_error(taken, 422)["message"]
    updated = apis.member.patch(f"/assets/{cat.pk}", {"ref_name": "kitty", "type": "background"}).json()
    assert (updated["ref_name"], updated["type"], updated["tags"]) == ("kitty", "background", ["pets"])
    assert_error(apis.viewer.patch(f"/assets/{cat.pk}", {"ref_name": "v"}), 403)
    retired = apis.member.post(f"/assets/{cat.pk}/retire").json()
    assert retired["retired"] is True
    assert cat.pk not in [a["id"] for a in apis.member.get("/assets").json()["items"]]
    assert cat.pk in [a["id"] for a in apis.member.get("/assets", {"include_retired": "true"}).json()["items"]]
    body = {"project_id": world.project.pk, "mode": "i2v", "image": cat.pk, "resolution": "360p", "duration": 2}
    error = assert_error(apis.member.post("/quotes", body), 422)
    assert error["field"] == "references" and "@kitty is retired; restore it" in error["message"]  # the composer's


# --- Quotes and generations -------------------------------------------------------------------------------------------


def t2v(world, **overrides):
    return {
        "project_id": world.project.pk,
        "mode": "t2v",
        "prompt": "a title card that says hello",
        "resolution": "360p",
        "duration": 2,
        "aspect_ratio": "16:9",
        "provider": "wavespeed",
        **overrides,
    }


def r2v(world, pipeline, **overrides):
    return {
        "project_id": world.project.pk,
        "mode": "r2v",
        "prompt": "@cat plays in @park at dusk",
        "resolution": "360p",
        "duration": 2,
        "aspect_ratio": "16:9",
        "references": [
            {"asset": pipeline.cat.pk, "ref_name": "cat", "type": "subject"},
            {"asset": pipeline.park.pk, "ref_name": "park", "type": "background"},
        ],
        **overrides,
    }


@pytest.mark.django_db
def test_quote_answers_exact_price_wallet_balance_after_and_cap(apis, world, pipeline):
    before = balance(world.member, world.team)
    quote = apis.member.post("/quotes", r2v(world, pipeline)).json()
    price = price_credits(seconds=2, resolution="360p", audio=False)
    assert quote["ok"] is True and quote["credits"] == price
    assert quote["balance"] == before and quote["balance_after"] == before - price
    assert quote["wallet"]["label"].startswith("Personal wallet") and quote["cap_ok"] is True
    assert quote["provider"] and quote["seconds"] == 2
    assert Hold.objects.count() == 0  # a quote changes nothing
    poor = apis.member.post("/quotes", t2v(world, resolution="1080p", duration=10, provider="auto")).json()
    assert poor["credits"] > 0


@pytest.mark.django_db
def test_validation_errors_carry_the_validation_modules_messages(apis, world, pipeline):
    error = assert_error(apis.member.post("/quotes", r2v(world, pipeline, prompt="@dog runs")), 422)
    assert error["field"] == "prompt" and 'Reference "@dog" in the prompt does not match' in error["message"]
    error = assert_error(apis.member.post("/generations", t2v(world, duration=10**12)), 422)
    assert error["field"] == "duration" and "whole number of seconds" in error["message"]
    error = assert_error(apis.member.post("/generations", t2v(world, resolution="8k")), 422)
    assert "Resolution must be one of" in error["message"]
    other = {"asset": 10**6, "ref_name": "x", "type": "subject"}
    assert_error(apis.member.post("/quotes", r2v(world, pipeline, references=[other])), 422)
    assert GenerationJob.objects.count() == 0


@pytest.mark.django_db
def test_create_holds_the_price_and_refusals_use_402_403_409(apis, world, pipeline):
    before = balance(world.member, world.team)
    created = apis.member.post("/generations", r2v(world, pipeline))
    assert created.status_code == 201, created.content
    job = GenerationJob.objects.get(pk=created.json()["id"])
    assert job.state == State.QUEUED and job.hold is not None
    assert balance(world.member, world.team) == before - job.quoted_credits
    assert created.json()["queue_position"] == 1 and created.json()["cost"]["quoted_credits"] == job.quoted_credits
    assert_error(apis.viewer.post("/generations", t2v(world)), 403)
    expensive = t2v(world, resolution="1080p", duration=10, provider="auto")
    from billing import ledger
    from billing.wallets import wallet_for_spending

    wallet = wallet_for_spending(user=world.admin, team=world.team)
    ledger.adjust(wallet=wallet, amount=-(wallet.balance - 1), reason="test", created_by=None)
    assert (
        "Not enough credits"
        in assert_error(apis.admin.post("/generations", expensive), 402, "insufficient_credits")["message"]
    )
    world.project.archived_at = timezone.now()
    world.project.save()
    assert_error(apis.member.post("/generations", t2v(world)), 409, "project_archived")


@pytest.mark.django_db
def test_a_wallet_in_debt_is_402_outstanding_debt(apis, world, pipeline):
    """A refund taken back after the credits were spent leaves debt: a payment clears it, so 402, not a freeze."""
    from billing import ledger
    from billing.models import Purchase, TxKind
    from billing.wallets import wallet_for_spending

    wallet = wallet_for_spending(user=world.member, team=world.team)
    purchase = Purchase.objects.create(
        session_id="cs_test_debt", wallet=wallet, credits=100, amount_cents=50, currency="usd"
    )
    ledger.stripe_reversal(
        purchase=purchase, credits=wallet.balance + 100, kind=TxKind.REFUND, key="re_debt", description="refund"
    )
    assert_error(apis.member.post("/generations", t2v(world)), 402, "outstanding_debt")


@pytest.mark.django_db
def test_over_the_members_cap_is_402(apis, world, pipeline):
    from billing import ledger
    from billing.wallets import team_wallet

    team_billing_update(team=world.team, use_pool=True, monthly_budget=None)
    ledger.grant(wallet=team_wallet(team=world.team), amount=50_000, reason="test", created_by=None)
    member_cap_set(membership=Membership.objects.get(team=world.team, user=world.member), monthly_cap=1)
    quote = apis.member.post("/quotes", t2v(world)).json()
    assert quote["ok"] is False and quote["cap_ok"] is False and quote["cap_remaining"] == 1
    assert_error(apis.member.post("/generations", t2v(world)), 402, "over_cap")


@pytest.mark.django_db
def test_submission_rate_limit(apis, world, pipeline, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "submit": (1, 30)}
    assert apis.member.post("/generations", t2v(world)).status_code == 201
    response = apis.member.post("/generations", t2v(world))
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert GenerationJob.objects.count() == 1


@pytest.mark.django_db
def test_two_quick_submissions_either_side_of_a_clock_boundary_are_one_window(apis, world, pipeline, settings):
    """A token's window starts at its first submission, not at a multiple of the window on the clock: two
    submissions 0.1 s apart, either side of such a multiple, count in one window (clock-aligned windows let both
    through a limit of one), and ``Retry-After`` is when that window ends."""
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "submit": (1, 30)}
    boundary = (math.floor(time.time() / 30) + 2) * 30  # a multiple of 30 s, 30-60 s from now
    with time_machine.travel(boundary - 0.05, tick=False) as clock:
        assert apis.member.post("/generations", t2v(world)).status_code == 201
        clock.move_to(boundary + 0.05)
        response = apis.member.post("/generations", t2v(world))
        assert_error(response, 429, "rate_limited")
        assert response["Retry-After"] == "30"  # 29.9 s: the first submission's time + 30 s, rounded up
        clock.move_to(boundary + 29.9)
        assert apis.member.post("/generations", t2v(world))["Retry-After"] == "1"
    assert GenerationJob.objects.count() == 1


@pytest.mark.django_db
def test_idempotency_key_replays_the_first_response_and_refuses_another_body(apis, world, pipeline):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = apis.member.post("/generations", t2v(world), headers=key)
    assert first.status_code == 201
    again = apis.member.post("/generations", t2v(world), headers=key)
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert GenerationJob.objects.count() == 1 and Hold.objects.count() == 1
    other = apis.member.post("/generations", t2v(world, prompt="something else"), headers=key)
    assert_error(other, 422, "idempotency_key_reused")
    assert GenerationJob.objects.count() == 1
    assert_error(apis.member.post("/generations", t2v(world), headers={"Idempotency-Key": "x" * 300}), 422)


@pytest.mark.django_db
def test_list_get_cancel_remix_download(apis, world, pipeline):
    ids = [apis.member.post("/generations", t2v(world, prompt=f"card {n}")).json()["id"] for n in range(3)]
    page = apis.member.get("/generations", {"limit": 2}).json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    rest = apis.member.get("/generations", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert (
        len(apis.member.get("/generations", {"state": "queued", "project_id": world.project.pk}).json()["items"]) == 3
    )
    assert apis.member.get("/generations", {"state": "succeeded"}).json()["items"] == []
    assert_error(apis.member.get("/generations", {"state": "bogus"}), 422)

    detail = apis.member.get(f"/generations/{ids[1]}").json()
    assert detail["state"] == "queued" and detail["queue_position"] == 2
    assert [e["to_state"] for e in detail["events"]] == ["queued"]

    canceled = apis.member.post(f"/generations/{ids[2]}/cancel")
    assert canceled.status_code == 200 and canceled.json()["state"] == "canceled"
    assert "credits were returned" in canceled.json()["message"]
    assert_error(apis.member.post(f"/generations/{ids[2]}/cancel"), 409, "state_conflict")
    assert_error(apis.viewer.post(f"/generations/{ids[1]}/cancel"), 403)

    assert_error(apis.member.get(f"/generations/{ids[0]}/download"), 409, "state_conflict")
    pipeline.worker.settle(GenerationJob.objects.get(pk=ids[0]), GenerationJob.objects.get(pk=ids[1]))
    done = apis.member.get(f"/generations/{ids[0]}").json()
    assert done["state"] == "succeeded" and done["cost"]["charged_credits"] > 0 and done["video"]["width"]
    assert "billed_seconds" in done["cost"]
    link = apis.member.get(f"/generations/{ids[0]}/download").json()
    video = apis.member.client.get(link["url"].removeprefix("http://testserver"))
    assert video.status_code == 200 and b"ftyp" in b"".join(video.streaming_content)[:64]

    remix = apis.member.post(f"/generations/{ids[0]}/remix", {"prompt": "a title card that says bye"})
    assert remix.status_code == 201
    assert (remix.json()["parent_id"], remix.json()["lineage"]) == (ids[0], "remix")
    assert remix.json()["prompt"] == "a title card that says bye"
    assert_error(apis.viewer.post(f"/generations/{ids[0]}/remix"), 403)


def test_a_video_hidden_by_moderation_is_hidden_in_the_api_too(apis, world, pipeline):
    """Hidden until reviewed holds in the API: no video block, no download URL, the case state is shown; after a
    reviewer approves, the video is back."""
    from studio.moderation.models import Source
    from studio.moderation.services import Decision, case_decide, signal_add

    job_id = apis.member.post("/generations", t2v(world, prompt="a title card")).json()["id"]
    job = GenerationJob.objects.get(pk=job_id)
    pipeline.worker.settle(job)
    assert apis.member.get(f"/generations/{job_id}").json()["moderation"] is None
    case = signal_add(job=job, source=Source.PROVIDER_NSFW, detail="flagged")
    hidden = apis.member.get(f"/generations/{job_id}").json()
    assert hidden["state"] == "succeeded" and hidden["video"] is None
    assert hidden["moderation"] == {"hidden": True, "state": "open", "reason": ""}
    listed = apis.member.get("/generations", {"state": "succeeded"}).json()["items"]
    assert [(item["id"], item["video"]) for item in listed] == [(job_id, None)]
    assert_error(apis.member.get(f"/generations/{job_id}/download"), 409, "moderation_hidden")
    staff = UserFactory(is_staff=True)
    case_decide(case=case, version=case.version, reviewer=staff, decision=Decision.APPROVE, reason="fine")
    shown = apis.member.get(f"/generations/{job_id}").json()
    assert shown["video"] is not None and shown["moderation"]["hidden"] is False
    assert apis.member.get(f"/generations/{job_id}/download").status_code == 200


# --- Wallet ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_wallet_balance_holds_history_and_usage(apis, world, pipeline):
    job_id = apis.member.post("/generations", t2v(world)).json()["id"]
    wallet = apis.member.get("/wallet").json()
    assert wallet["kind"] == "personal" and wallet["balance"] == balance(world.member, world.team)
    assert [h["generation_id"] for h in wallet["holds"]] == [job_id] and wallet["pays_for_new_jobs"]
    history = apis.member.get("/wallet/history").json()["items"]
    assert history[0]["generation_id"] == job_id and history[0]["amount"] < 0
    pipeline.worker.settle(GenerationJob.objects.get(pk=job_id))
    rows = apis.member.get("/wallet/usage").json()
    assert rows and rows[0]["user"] == world.member.email and rows[0]["credits"] > 0
    # The capture's month, not a clock read after it (the next month, were the capture at 23:59:59 on the 31st).
    captured_at = Hold.objects.get(pk=GenerationJob.objects.get(pk=job_id).hold_id).resolved_at
    assert rows[0]["month"] == f"{captured_at:%Y-%m}"
    response = apis.member.get("/wallet/usage", {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(response.content.decode())))
    assert parsed[0][:3] == ["month", "user", "project"] and parsed[1][1] == world.member.email
    assert_error(apis.member.get("/wallet", {"wallet": "pool"}), 403)
    from studio.teams.models import Team

    personal = Team.objects.filter(memberships__user=world.member, is_personal=True).first()
    if personal is None:
        from studio.accounts.services import user_setup

        user_setup(user=world.member)
        personal = Team.objects.get(memberships__user=world.member, is_personal=True)
    assert_error(api_for(world.member, personal).get("/wallet", {"wallet": "pool"}), 404)


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/generations", "/api/v1/quotes", "/api/v1/assets", "/api/v1/wallet"} <= set(schema["paths"])
    create = schema["paths"]["/api/v1/generations"]["post"]
    assert {"201", "402", "409", "422", "429"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
