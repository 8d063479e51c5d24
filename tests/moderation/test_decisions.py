"""Decisions, strikes, appeals, claims and restrictions, with their ledger, storage, notification and audit effects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from billing import ledger
from billing.models import HoldState, LedgerTransaction, TxKind
from generations.services.jobs import GenerationRefused, generation_create
from generations.states import State
from studio.audit.models import AuditAction, AuditEvent
from studio.moderation.models import (
    Appeal,
    AppealState,
    Case,
    CaseState,
    ChargeOutcome,
    Strike,
)
from studio.moderation.policy import policy_update
from studio.moderation.services import (
    AlreadyDecided,
    Decision,
    ModerationRefused,
    appeal_decide,
    appeal_file,
    case_claim,
    case_decide,
    report_submit,
    restriction_add,
    restriction_lift,
)
from studio.notifications.models import Notification
from tests.generations.helpers import balance
from tests.generations.test_generation_lifecycle import request_for
from tests.moderation.conftest import make_job

pytestmark = pytest.mark.django_db


def flagged_job(pipeline):
    job = make_job(pipeline, provider="wavespeed", prompt="a beach #nsfw")
    assert job.state == State.SUCCEEDED
    return job, Case.objects.get(job=job)


def refunds(job) -> int:
    return LedgerTransaction.objects.filter(kind=TxKind.JOB_REFUND, hold=job.hold).count()


def test_take_down_of_a_provider_flagged_video_refunds_by_default_deletes_files_and_notifies(
    pipeline, staff, django_capture_on_commit_callbacks
):
    world = pipeline.world
    job, case = flagged_job(pipeline)
    charged = job.charged_credits
    assert charged > 0
    before = balance(world.member, world.team)
    names = [job.output.name, job.poster.name]
    with django_capture_on_commit_callbacks(execute=True):
        case = case_decide(
            case=case, version=case.version, reviewer=staff.first, decision=Decision.TAKE_DOWN, reason="nudity"
        )
    assert case.state == CaseState.TAKEN_DOWN and case.hidden
    assert case.charge_outcome == ChargeOutcome.REFUNDED
    assert balance(world.member, world.team) == before + charged
    assert refunds(job) == 1
    for name in names:
        assert not default_storage.exists(name)
        assert default_storage.exists(f"quarantine/{name}")  # until the appeal window closes
    job.refresh_from_db()
    assert not job.output and not job.poster
    strike = Strike.objects.get(case=case)
    assert strike.user == world.member and strike.decided_by == staff.first
    assert strike.appeal_until - timezone.now() > timedelta(days=19)
    # The creator and the team's owner and admin: in-app and by email.
    notified = set(Notification.objects.filter(kind="moderation").values_list("user__email", flat=True))
    assert notified == {world.member.email, world.owner.email, world.admin.email}
    assert {m.to[0] for m in mail.outbox if "taken down" in m.subject} == notified
    audit = AuditEvent.objects.get(action=AuditAction.MODERATION_DECISION)
    assert audit.actor == staff.first and audit.team_id == world.team.pk and audit.reason == "nudity"
    assert AuditEvent.objects.filter(action=AuditAction.REFUND, data__credits=charged).count() == 1
    # The library shows a tombstone with the reason; the job page says what happened to the money.
    client = world.client_for(world.member)
    library = client.get(reverse("projects:detail", kwargs={"pk": world.project.pk})).content.decode()
    card = library.split(f'id="job-{job.pk}"')[1].split("</li>")[0]
    assert "Taken down" in card and "nudity" in card and "<video" not in card
    page = client.get(reverse("generations:job", kwargs={"pk": job.pk})).content.decode()
    assert "This video was taken down" in page and "Refunded" in page
    assert "Appeal this decision" in page


def test_take_down_of_a_member_report_keeps_the_charge_by_default(pipeline, staff):
    world = pipeline.world
    job = make_job(pipeline, prompt="a quiet street")
    case = report_submit(user=world.owner, job=job, reason="copyrighted logo")
    before = balance(world.member, world.team)
    case = case_decide(
        case=case, version=case.version, reviewer=staff.first, decision=Decision.TAKE_DOWN, reason="copyrighted logo"
    )
    assert case.charge_outcome == ChargeOutcome.KEPT
    assert balance(world.member, world.team) == before
    assert refunds(job) == 0


def test_the_reviewer_may_choose_keep_for_a_flagged_video(pipeline, staff):
    world = pipeline.world
    _, case = flagged_job(pipeline)
    before = balance(world.member, world.team)
    case = case_decide(
        case=case,
        version=case.version,
        reviewer=staff.first,
        decision=Decision.TAKE_DOWN,
        reason="nudity",
        refund=False,
    )
    assert case.charge_outcome == ChargeOutcome.KEPT
    assert balance(world.member, world.team) == before


def test_approve_shows_the_video_again_and_keeps_the_charge(pipeline, staff):
    world = pipeline.world
    job, case = flagged_job(pipeline)
    before = balance(world.member, world.team)
    case = case_decide(case=case, version=case.version, reviewer=staff.first, decision=Decision.APPROVE)
    assert case.state == CaseState.APPROVED and not case.hidden
    assert case.charge_outcome == ChargeOutcome.CHARGED
    assert balance(world.member, world.team) == before
    page = world.client_for(world.member).get(reverse("generations:job", kwargs={"pk": job.pk})).content.decode()
    assert "<video" in page and "Charged: the video was delivered and approved." in page


def test_a_stale_version_is_told_it_was_already_decided_and_changes_nothing(pipeline, staff):
    world = pipeline.world
    _, case = flagged_job(pipeline)
    version = case.version
    case_decide(case=case, version=version, reviewer=staff.first, decision=Decision.APPROVE)
    before = balance(world.member, world.team)
    with pytest.raises(AlreadyDecided):
        case_decide(case=case, version=version, reviewer=staff.second, decision=Decision.TAKE_DOWN, reason="x")
    assert Case.objects.get(pk=case.pk).state == CaseState.APPROVED
    assert balance(world.member, world.team) == before
    assert not Strike.objects.exists()


def test_a_claim_keeps_other_reviewers_out_until_it_expires(pipeline, staff):
    _, case = flagged_job(pipeline)
    case_claim(case=case, reviewer=staff.first)
    with pytest.raises(ModerationRefused, match="reviewing"):
        case_claim(case=case, reviewer=staff.second)
    case.refresh_from_db()
    with pytest.raises(ModerationRefused, match="reviewing"):
        case_decide(case=case, version=case.version, reviewer=staff.second, decision=Decision.APPROVE)
    Case.objects.filter(pk=case.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    case_claim(case=case, reviewer=staff.second)
    case.refresh_from_db()
    assert case.claimed_by == staff.second
    case_decide(case=case, version=case.version, reviewer=staff.second, decision=Decision.APPROVE)


def test_reasons_are_required_and_dismiss_is_for_reports_only(pipeline, staff):
    _, case = flagged_job(pipeline)
    with pytest.raises(ModerationRefused, match="reason"):
        case_decide(case=case, version=case.version, reviewer=staff.first, decision=Decision.TAKE_DOWN, reason=" ")
    with pytest.raises(ModerationRefused, match="report"):
        case_decide(case=case, version=case.version, reviewer=staff.first, decision=Decision.DISMISS)
    with pytest.raises(ModerationRefused, match="staff"):
        case_decide(case=case, version=case.version, reviewer=pipeline.world.owner, decision=Decision.APPROVE)
    assert Case.objects.get(pk=case.pk).state == CaseState.OPEN


def test_ask_the_team_for_context_and_their_reply_returns_it_to_the_queue(pipeline, staff):
    world = pipeline.world
    job, case = flagged_job(pipeline)
    case = case_decide(
        case=case,
        version=case.version,
        reviewer=staff.first,
        decision=Decision.ASK_CONTEXT,
        reason="Is this person an adult actor with a release?",
    )
    assert case.state == CaseState.CONTEXT_REQUESTED
    client = world.client_for(world.member)
    page = client.get(reverse("generations:job", kwargs={"pk": job.pk})).content.decode()
    assert "Is this person an adult actor" in page
    client.post(reverse("moderation:reply", kwargs={"pk": case.pk}), {"message": "Yes, signed release on file."})
    case.refresh_from_db()
    assert case.state == CaseState.OPEN and case.context_reply == "Yes, signed release on file."
    assert (
        world.client_for(world.outsider)
        .post(reverse("moderation:reply", kwargs={"pk": case.pk}), {"message": "x"})
        .status_code
        == 404
    )


def test_appeal_once_within_the_window_then_an_overturn_restores_and_refunds_exactly_once(pipeline, staff):
    world = pipeline.world
    job, case = flagged_job(pipeline)
    names = [job.output.name, job.poster.name]
    charged = job.charged_credits
    # Kept at takedown, so the overturn is what refunds.
    case = case_decide(
        case=case,
        version=case.version,
        reviewer=staff.first,
        decision=Decision.TAKE_DOWN,
        reason="nudity",
        refund=False,
    )
    strike = case.strike
    with pytest.raises(ModerationRefused, match="creator"):
        appeal_file(strike=strike, user=world.owner, message="please")
    response = world.client_for(world.member).post(
        reverse("moderation:appeal", kwargs={"pk": strike.pk}), {"message": "It is a painting, not a photo."}
    )
    assert response.status_code == 302
    appeal = Appeal.objects.get(strike=strike)
    assert appeal.state == AppealState.PENDING
    case.refresh_from_db()
    assert case.state == CaseState.APPEALED
    assert AuditEvent.objects.filter(action=AuditAction.MODERATION_APPEAL, actor=world.member).count() == 1
    with pytest.raises(ModerationRefused, match="already appealed"):
        appeal_file(strike=strike, user=world.member, message="again")
    assert Appeal.objects.count() == 1
    # The reviewer who decided does not decide the appeal while another one exists.
    with pytest.raises(ModerationRefused, match="another reviewer"):
        appeal_decide(case=case, version=case.version, reviewer=staff.first, overturn=True, reason="ok")
    with pytest.raises(ModerationRefused, match="another reviewer"):
        case_claim(case=case, reviewer=staff.first)
    before = balance(world.member, world.team)
    case = appeal_decide(
        case=case, version=case.version, reviewer=staff.second, overturn=True, reason="A painting; fine."
    )
    assert case.state == CaseState.APPROVED and not case.hidden
    assert balance(world.member, world.team) == before + charged
    assert refunds(job) == 1
    job.refresh_from_db()
    assert [job.output.name, job.poster.name] == names
    for name in names:
        assert default_storage.exists(name) and not default_storage.exists(f"quarantine/{name}")
    appeal.refresh_from_db()
    assert appeal.state == AppealState.OVERTURNED and appeal.decided_by == staff.second
    strike.refresh_from_db()
    assert strike.overturned_at is not None
    assert AuditEvent.objects.filter(action=AuditAction.MODERATION_APPEAL_DECISION).count() == 1
    # Deciding it again (a second click, a stale form) changes nothing and refunds nothing more.
    with pytest.raises(AlreadyDecided):
        appeal_decide(case=case, version=case.version - 1, reviewer=staff.second, overturn=True, reason="again")
    assert refunds(job) == 1
    assert balance(world.member, world.team) == before + charged
    page = world.client_for(world.member).get(reverse("generations:job", kwargs={"pk": job.pk})).content.decode()
    assert "<video" in page and "overturned" in page
    from billing.reconcile import reconcile

    report = reconcile()
    assert report.ok, report.summary()  # balances still equal their entries; every transaction sums to zero


def test_an_overturn_after_a_refunding_takedown_does_not_refund_twice(pipeline, staff):
    world = pipeline.world
    job, case = flagged_job(pipeline)
    charged = job.charged_credits
    start = balance(world.member, world.team)
    case = case_decide(
        case=case, version=case.version, reviewer=staff.first, decision=Decision.TAKE_DOWN, reason="nudity"
    )
    appeal_file(strike=case.strike, user=world.member, message="no")
    case.refresh_from_db()
    appeal_decide(case=case, version=case.version, reviewer=staff.second, overturn=True, reason="fine")
    assert refunds(job) == 1
    assert balance(world.member, world.team) == start + charged


def test_an_appeal_after_the_window_is_refused_and_an_upheld_appeal_keeps_it_down(pipeline, staff):
    world = pipeline.world
    policy_update(actor=staff.first, appeal_window_days=3)
    _, case = flagged_job(pipeline)
    case = case_decide(
        case=case, version=case.version, reviewer=staff.first, decision=Decision.TAKE_DOWN, reason="nudity"
    )
    strike = case.strike
    assert timedelta(days=2) < strike.appeal_until - timezone.now() <= timedelta(days=3)
    Strike.objects.filter(pk=strike.pk).update(appeal_until=timezone.now() - timedelta(seconds=1))
    strike.refresh_from_db()
    with pytest.raises(ModerationRefused, match="window closed"):
        appeal_file(strike=strike, user=world.member, message="late")
    assert not Appeal.objects.exists()
    # A second takedown, appealed in time and upheld, stays down.
    _, case2 = flagged_job(pipeline)
    case2 = case_decide(
        case=case2, version=case2.version, reviewer=staff.first, decision=Decision.TAKE_DOWN, reason="nudity"
    )
    appeal_file(strike=case2.strike, user=world.member, message="please")
    case2.refresh_from_db()
    case2 = appeal_decide(case=case2, version=case2.version, reviewer=staff.second, overturn=False, reason="no")
    assert case2.state == CaseState.TAKEN_DOWN and case2.hidden
    assert Appeal.objects.get(strike=case2.strike).state == AppealState.UPHELD


def test_a_single_reviewer_may_decide_the_appeal_when_there_is_no_other(pipeline):
    from tests.factories import UserFactory

    only = UserFactory(email="solo@example.com", is_staff=True)
    world = pipeline.world
    _, case = flagged_job(pipeline)
    case = case_decide(case=case, version=case.version, reviewer=only, decision=Decision.TAKE_DOWN, reason="x")
    appeal_file(strike=case.strike, user=world.member, message="please")
    case.refresh_from_db()
    assert appeal_decide(case=case, version=case.version, reviewer=only, overturn=True, reason="ok").state == (
        CaseState.APPROVED
    )


def test_restrictions_stop_a_user_or_a_team_from_generating_with_the_reason(pipeline, staff):
    world = pipeline.world
    request = request_for(
        pipeline, __import__("generations.providers.base").providers.base.Mode.TEXT_TO_VIDEO, "wavespeed"
    )
    restriction = restriction_add(by=staff.first, user=world.member, reason="repeated policy violations")
    before = balance(world.member, world.team)
    with pytest.raises(GenerationRefused, match="You are restricted from generating: repeated policy violations"):
        generation_create(user=world.member, project=world.project, request=request)
    assert balance(world.member, world.team) == before
    composer = world.client_for(world.member).get(
        reverse("generations:compose", kwargs={"project_pk": world.project.pk})
    )
    assert "repeated policy violations" in composer.content.decode()
    generation_create(user=world.owner, project=world.project, request=request)  # others still may
    restriction_lift(restriction=restriction, by=staff.first)
    generation_create(user=world.member, project=world.project, request=request)
    restriction_add(by=staff.first, team=world.team, reason="unpaid chargebacks")
    with pytest.raises(GenerationRefused, match="This team is restricted from generating: unpaid chargebacks"):
        generation_create(user=world.owner, project=world.project, request=request)
    assert AuditEvent.objects.filter(action=AuditAction.RESTRICTION).count() == 3
    with pytest.raises(ModerationRefused):
        restriction_add(by=world.owner, user=world.member, reason="no")


def test_the_refund_ledger_function_posts_once_and_only_for_charged_holds(pipeline, staff):
    job, _ = flagged_job(pipeline)
    first = ledger.job_refund(hold=job.hold, reason="one", created_by=staff.first)
    second = ledger.job_refund(hold=job.hold, reason="two", created_by=staff.first)
    assert first is not None and first.pk == second.pk  # type: ignore[union-attr]
    moderated = make_job(pipeline, prompt="x #moderate")
    moderated.hold.refresh_from_db()
    assert moderated.hold.state == HoldState.RELEASED
    assert ledger.job_refund(hold=moderated.hold, reason="nothing charged", created_by=None) is None


def test_quarantine_is_purged_once_the_appeal_window_closed_but_not_while_an_appeal_waits(pipeline, staff):
    from studio.moderation.services import quarantine_purge
    from studio.moderation.tasks import purge_quarantine

    world = pipeline.world
    kept, kept_case = flagged_job(pipeline)
    appealed, appealed_case = flagged_job(pipeline)
    names = {}
    for job, case in ((kept, kept_case), (appealed, appealed_case)):
        names[job.pk] = [job.output.name, job.poster.name]
        case_decide(case=case, version=case.version, reviewer=staff.first, decision=Decision.TAKE_DOWN, reason="x")
    appeal_file(strike=Strike.objects.get(case=appealed_case), user=world.member, message="please")
    assert quarantine_purge() == 0  # both windows still open
    Strike.objects.update(appeal_until=timezone.now() - timedelta(seconds=1))
    assert purge_quarantine() == 1  # the appealed one waits for its decision
    assert not any(default_storage.exists(f"quarantine/{n}") for n in names[kept.pk])
    assert all(default_storage.exists(f"quarantine/{n}") for n in names[appealed.pk])
    assert Case.objects.get(pk=kept_case.pk).quarantine == {}
