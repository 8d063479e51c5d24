"""Each source opens a case through the real pipeline and the in-process emulator, and the policy's ledger result
holds: provider refusals (``#moderate``; PixVerse 500054/500063 by code), WaveSpeed's NSFW flag on a delivered
video (``#nsfw``), a blocked and a flagged pre-screen term, a member's report."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from billing.models import HoldState
from generations.providers.base import Mode
from generations.providers.errors import ModerationError
from generations.providers.pixverse import envelope_error
from generations.services.jobs import GenerationRefused, generation_create
from generations.states import State
from studio.files import signed_url
from studio.moderation.models import Case, CaseState, ChargeOutcome, ScreenTerm, Source, TermAction
from tests.generations.helpers import balance
from tests.generations.test_generation_lifecycle import request_for
from tests.moderation.conftest import make_job
from tests.providers.conftest import mock_transport  # noqa: F401 - the fixture
from tests.providers.payloads import pixverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("provider", "mode", "code"),
    [
        ("wavespeed", Mode.TEXT_TO_VIDEO, "1200"),
        ("pixverse", Mode.TEXT_TO_VIDEO, ""),
        ("dashscope", Mode.REFERENCE_TO_VIDEO, "DataInspectionFailed"),
    ],
)
def test_a_provider_refusal_opens_a_case_and_the_hold_is_released(
    pipeline, provider, mode, code, django_capture_on_commit_callbacks
):
    world = pipeline.world
    before = balance(world.member, world.team)
    prompt = "@cat plays in @park #moderate" if mode == Mode.REFERENCE_TO_VIDEO else "a storm #moderate"
    with django_capture_on_commit_callbacks(execute=True):
        job = make_job(pipeline, provider=provider, mode=mode, prompt=prompt)
    assert job.state == State.MODERATED
    case = Case.objects.get(job=job)
    assert case.state == CaseState.OPEN
    assert [s.source for s in case.signals.all()] == [Source.PROVIDER_REFUSAL]
    assert case.score == case.signals.get().weight > 0
    assert case.provider == provider
    assert provider in case.provider_verdict
    if code:
        assert code in case.provider_verdict
    assert case.charge_outcome == ChargeOutcome.RELEASED
    job.hold.refresh_from_db()
    assert job.hold.state == HoldState.RELEASED
    assert balance(world.member, world.team) == before
    page = world.client_for(world.member).get(reverse("generations:job", kwargs={"pk": job.pk}))
    assert "nothing was charged" in page.content.decode()


@pytest.mark.parametrize("code", [500054, 500063])
def test_pixverse_content_codes_are_moderation_whatever_the_message(code):
    error = envelope_error({"ErrCode": code, "ErrMsg": "request rejected"}, provider="pixverse")
    assert isinstance(error, ModerationError)
    assert error.code == str(code)


@pytest.mark.parametrize("code", [500054, 500063])
def test_pixverse_content_code_at_submit_opens_a_case(
    pipeline,
    code,
    mock_transport,  # noqa: F811 - the imported fixture
    django_capture_on_commit_callbacks,
):
    world = pipeline.world
    before = balance(world.member, world.team)
    mock_transport.reply(pixverse(None, err_code=code, err_msg="request rejected"))
    with django_capture_on_commit_callbacks(execute=True):
        job = make_job(pipeline, provider="pixverse")
    assert job.state == State.MODERATED
    case = Case.objects.get(job=job)
    assert case.signals.get().source == Source.PROVIDER_REFUSAL
    assert str(code) in case.provider_verdict
    assert balance(world.member, world.team) == before


def test_an_nsfw_flagged_delivery_is_saved_hidden_charged_and_opens_a_case(pipeline, staff):
    world = pipeline.world
    before = balance(world.member, world.team)
    job = make_job(pipeline, provider="wavespeed", prompt="a beach #nsfw")
    assert job.state == State.SUCCEEDED
    assert default_storage.exists(job.output.name) and default_storage.exists(job.poster.name)
    case = Case.objects.get(job=job)
    assert [s.source for s in case.signals.all()] == [Source.PROVIDER_NSFW]
    assert case.hidden
    assert "NSFW" in case.provider_verdict
    # Delivered: charged at delivery (the hold captured); a takedown decides refund or keep.
    assert job.hold.state == HoldState.CAPTURED
    assert balance(world.member, world.team) == before - job.charged_credits
    assert_hidden_from_members(pipeline, job)


def assert_hidden_from_members(pipeline, job):
    world = pipeline.world
    for user in (world.owner, world.member, world.viewer):
        client = world.client_for(user)
        library = client.get(reverse("projects:detail", kwargs={"pk": world.project.pk})).content.decode()
        card = library.split(f'id="job-{job.pk}"')[1].split("</li>")[0]
        assert "<video" not in card and "Download" not in card
        assert "Under review" in card
        page = client.get(reverse("generations:job", kwargs={"pk": job.pk})).content.decode()
        assert "<video" not in page and "Download MP4" not in page
        assert "Under review" in page
        status = client.get(reverse("generations:job-status", kwargs={"pk": job.pk})).content.decode()
        assert "<video" not in status
    # A signed URL for the file (e.g. minted before it was hidden, or guessed from the name) is refused...
    anyone = world.client_for(world.member)
    assert anyone.get(signed_url(job.output.name)).status_code == 404
    assert anyone.get(signed_url(job.poster.name)).status_code == 404
    # ...but staff's signed URL plays it.
    staff_response = anyone.get(signed_url(job.output.name, staff=True))
    assert staff_response.status_code == 200
    assert b"ftyp" in b"".join(staff_response.streaming_content)[:64]


def test_a_blocked_term_refuses_before_any_hold_with_the_reason_in_the_composer(pipeline):
    world = pipeline.world
    ScreenTerm.objects.create(term="gore", action=TermAction.BLOCK, reason="graphic violence is not allowed")
    before = balance(world.member, world.team)
    with pytest.raises(GenerationRefused, match="graphic violence is not allowed"):
        generation_create(
            user=world.member,
            project=world.project,
            request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "wavespeed", prompt="lots of GORE everywhere"),
        )
    assert balance(world.member, world.team) == before
    assert not world.project.generation_jobs.exists()
    # Whole words only: "gorey" is not "gore".
    ok = make_job(pipeline, prompt="a gorey old house", settle=False)
    assert ok.state == State.QUEUED
    # The composer shows the reason (confirm step refused, nothing held).
    response = world.client_for(world.member).post(
        reverse("generations:compose", kwargs={"project_pk": world.project.pk}),
        {
            "mode": "t2v",
            "prompt": "gore at dawn",
            "resolution": "360p",
            "duration": 2,
            "aspect_ratio": "16:9",
            "provider": "wavespeed",
            "confirm": "1",
        },
    )
    assert response.status_code == 400
    assert "graphic violence is not allowed" in response.content.decode()
    live = world.client_for(world.member).post(
        reverse("generations:quote", kwargs={"project_pk": world.project.pk}),
        {
            "mode": "t2v",
            "prompt": "gore at dawn",
            "resolution": "360p",
            "duration": 2,
            "aspect_ratio": "16:9",
            "provider": "wavespeed",
        },
    )
    assert "graphic violence is not allowed" in live.content.decode()  # the live quote says so while typing
    assert world.project.generation_jobs.count() == 1  # only the "gorey" job


def test_a_flagged_term_submits_but_opens_a_case_and_the_video_is_hidden(pipeline):
    ScreenTerm.objects.create(term="weapon", action=TermAction.FLAG)
    job = make_job(pipeline, prompt="a knight draws his weapon")
    assert job.state == State.SUCCEEDED
    case = Case.objects.get(job=job)
    assert case.signals.get().source == Source.PRESCREEN
    assert "weapon" in case.signals.get().detail
    assert case.hidden
    assert job.hold.state == HoldState.CAPTURED
    assert_hidden_from_members(pipeline, job)


def test_a_member_report_opens_a_case_once_per_member_and_does_not_hide(pipeline):
    world = pipeline.world
    job = make_job(pipeline, prompt="a quiet street")
    assert job.state == State.SUCCEEDED
    url = reverse("moderation:report", kwargs={"pk": job.pk})
    client = world.client_for(world.viewer)  # viewers may report what they can see
    assert client.post(url, {"reason": ""}).status_code == 302
    assert not Case.objects.filter(job=job).exists()  # an empty reason changes nothing
    client.post(url, {"reason": "shows a real person's face"})
    client.post(url, {"reason": "again"})
    world.client_for(world.owner).post(url, {"reason": "agree"})
    case = Case.objects.get(job=job)
    assert case.signals.filter(source=Source.MEMBER_REPORT).count() == 2
    assert case.score == 2 * case.signals.first().weight
    assert not case.hidden
    assert world.client_for(world.outsider).post(url, {"reason": "x"}).status_code == 404
    page = world.client_for(world.viewer).get(reverse("generations:job", kwargs={"pk": job.pk})).content.decode()
    assert "You reported this video" in page
    assert "<video" in page


def test_with_hiding_off_a_flagged_video_stays_visible_but_still_opens_a_case(pipeline, staff):
    from studio.moderation.policy import policy_update

    policy_update(actor=staff.first, hide_until_reviewed=False)
    job = make_job(pipeline, provider="wavespeed", prompt="a beach #nsfw")
    case = Case.objects.get(job=job)
    assert case.signals.get().source == Source.PROVIDER_NSFW and not case.hidden
    page = pipeline.world.client_for(pipeline.world.member).get(reverse("generations:job", kwargs={"pk": job.pk}))
    assert "<video" in page.content.decode()
    assert pipeline.world.client_for(pipeline.world.member).get(signed_url(job.output.name)).status_code == 200
