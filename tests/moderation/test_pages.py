"""The staff pages: the review queue (filters, open count, score order, bulk decisions), a case (prompt, references,
staff-signed player, verdict, creator's record, actions), terms, policy, restrictions; and the Django admin's
restrictions (no raw add/delete on jobs, ledger rows, cases, audit rows; actions call the services)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import LedgerEntry
from generations.models import GenerationJob
from studio.audit.models import AuditEvent
from studio.moderation.models import Case, CaseState, ScreenTerm, Source
from studio.moderation.services import Decision, case_decide, signal_add
from tests.assets.images import media_root  # noqa: F401
from tests.factories import UserFactory
from tests.moderation.conftest import delivered_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(db):
    return UserFactory(email="rita@example.com", is_staff=True, is_superuser=True)


def test_the_queue_sorts_by_score_then_age_filters_and_counts_open_cases(world, reviewer, media_root):  # noqa: F811
    low = signal_add(job=delivered_job(world), source=Source.MEMBER_REPORT, detail="meh", reporter=world.owner)
    high = signal_add(job=delivered_job(world), source=Source.PROVIDER_NSFW, detail="wavespeed: NSFW")
    old = signal_add(job=delivered_job(world), source=Source.MEMBER_REPORT, detail="old", reporter=world.owner)
    Case.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    done = signal_add(job=delivered_job(world), source=Source.PROVIDER_NSFW, detail="x")
    case_decide(case=done, version=done.version, reviewer=reviewer, decision=Decision.APPROVE)
    client = world.client_for(reviewer)
    page = client.get(reverse("moderation:queue")).content.decode()
    assert "3 open" in page
    order = [page.index(f'id="case-{c.pk}"') for c in (high, old, low)]
    assert order == sorted(order)  # score first, then the older of equal scores
    assert f'id="case-{done.pk}"' not in page
    nsfw_only = client.get(reverse("moderation:queue"), {"source": Source.PROVIDER_NSFW}).content.decode()
    assert f'id="case-{high.pk}"' in nsfw_only and f'id="case-{low.pk}"' not in nsfw_only
    aged = client.get(reverse("moderation:queue"), {"age": "24h"}).content.decode()
    assert f'id="case-{old.pk}"' in aged and f'id="case-{low.pk}"' not in aged
    other_team = client.get(reverse("moderation:queue"), {"team": "Other Co"}).content.decode()
    assert "Nothing to review." in other_team
    decided = client.get(reverse("moderation:queue"), {"state": "decided"}).content.decode()
    assert f'id="case-{done.pk}"' in decided
    # Junk in the filters is ignored, not a 500.
    # Unknown filter values are ignored; a NUL byte is refused before any view (400, the hardening middleware).
    assert client.get(reverse("moderation:queue"), {"source": "nope", "age": "x", "state": "zz"}).status_code == 200
    assert client.get(reverse("moderation:queue"), {"source": "\x00"}).status_code == 400


def test_bulk_approve_and_take_down(world, reviewer, media_root):  # noqa: F811
    cases = [signal_add(job=delivered_job(world), source=Source.PROVIDER_NSFW, detail="x") for _ in range(3)]
    client = world.client_for(reviewer)
    stale = cases[2]
    client.post(
        reverse("moderation:bulk"),
        {"decision": "take_down", "case": [f"{c.pk}:{c.version}" for c in cases[:2]], "reason": ""},
    )
    assert Case.objects.filter(state=CaseState.OPEN).count() == 3  # a takedown needs a reason
    client.post(
        reverse("moderation:bulk"),
        {"decision": "take_down", "case": [f"{c.pk}:{c.version}" for c in cases[:2]], "reason": "spam"},
    )
    assert Case.objects.filter(state=CaseState.TAKEN_DOWN).count() == 2
    client.post(reverse("moderation:bulk"), {"decision": "approve", "case": [f"{stale.pk}:{stale.version + 7}"]})
    assert Case.objects.get(pk=stale.pk).state == CaseState.OPEN  # a stale version changes nothing
    client.post(reverse("moderation:bulk"), {"decision": "approve", "case": [f"{stale.pk}:{stale.version}"]})
    assert Case.objects.get(pk=stale.pk).state == CaseState.APPROVED


def test_the_case_page_shows_what_a_reviewer_needs_and_its_actions_work(world, reviewer, media_root):  # noqa: F811
    job = delivered_job(world)
    earlier = signal_add(job=delivered_job(world), source=Source.MEMBER_REPORT, detail="old", reporter=world.owner)
    case_decide(
        case=earlier,
        version=earlier.version,
        reviewer=reviewer,
        decision=Decision.TAKE_DOWN,
        reason="earlier violation",
    )
    case = signal_add(job=job, source=Source.PROVIDER_NSFW, detail="wavespeed: output flagged NSFW")
    client = world.client_for(reviewer)
    page = client.get(reverse("moderation:case", kwargs={"pk": case.pk})).content.decode()
    assert job.prompt in page
    assert "wavespeed: output flagged NSFW" in page
    assert "<video" in page
    assert "1 active strike" in page and "earlier violation" in page
    assert f"Case {earlier.pk}" in page
    video_url = page.split('<video controls playsinline preload="metadata" src="')[1].split('"')[0]
    assert client.get(video_url).status_code == 200  # the staff-only signed URL plays
    assert world.client_for(world.member).get(video_url).status_code == 200  # (it is a capability, like all)
    client.post(reverse("moderation:claim", kwargs={"pk": case.pk}))
    case.refresh_from_db()
    assert case.claimed_by == reviewer
    client.post(
        reverse("moderation:decide", kwargs={"pk": case.pk}),
        {"version": case.version, "decision": "take_down", "reason": "nudity", "refund": "keep"},
    )
    case.refresh_from_db()
    assert case.state == CaseState.TAKEN_DOWN and case.charge_outcome == "kept"
    # The same form again (a double click) is told it was already decided.
    response = client.post(
        reverse("moderation:decide", kwargs={"pk": case.pk}),
        {"version": case.version - 1, "decision": "approve"},
        follow=True,
    )
    assert "already decided" in response.content.decode()
    page = client.get(reverse("moderation:case", kwargs={"pk": case.pk})).content.decode()
    assert "In quarantine" in page and "<video" in page  # staff still see it until the window closes


def test_terms_policy_and_restriction_pages(world, reviewer):
    client = world.client_for(reviewer)
    client.post(reverse("moderation:terms"), {"term": "Gore", "action": "block", "reason": "no violence"})
    term = ScreenTerm.objects.get()
    assert term.term == "gore"
    assert "no violence" in client.get(reverse("moderation:terms")).content.decode()
    client.post(reverse("moderation:terms"), {"delete": term.pk})
    assert not ScreenTerm.objects.exists()
    changes = AuditEvent.objects.filter(action="moderation.policy_changed").order_by("created_at", "id")
    assert [row.data["added"] for row in changes] == [True, False] and changes[0].actor == reviewer
    response = client.post(reverse("moderation:policy"), {"appeal_window_days": 0, "claim_minutes": 5})
    assert response.status_code == 200 and "Between 1 and 365 days." in response.content.decode()
    client.post(reverse("moderation:restrictions"), {"email": world.member.email, "reason": "spam"})
    page = client.get(reverse("moderation:restrictions")).content.decode()
    assert world.member.email in page and "spam" in page
    client.post(reverse("moderation:restrictions"), {"team": "Acme", "reason": "chargebacks"})
    assert "Team Acme" in client.get(reverse("moderation:restrictions")).content.decode()
    response = client.post(reverse("moderation:restrictions"), {"team": "Nope", "reason": "x"})
    assert "No team by that name." in response.content.decode()


def test_staff_see_the_review_link_in_the_nav_and_members_do_not(world, reviewer):
    assert 'href="/moderation/queue/"' in world.client_for(reviewer).get(reverse("dashboard")).content.decode()
    assert "/moderation/queue/" not in world.client_for(world.owner).get(reverse("dashboard")).content.decode()


def test_the_admin_offers_no_raw_add_or_delete_and_its_actions_call_the_services(world, reviewer, media_root):  # noqa: F811
    case = signal_add(job=delivered_job(world), source=Source.PROVIDER_NSFW, detail="x")
    AuditEvent.objects.create(action="auth.sign_in")
    client = world.client_for(reviewer)
    for model in (GenerationJob, LedgerEntry, Case, AuditEvent):
        meta = model._meta
        changelist = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert changelist.status_code == 200
        body = changelist.content.decode()
        assert 'value="delete_selected"' not in body, meta.label
        assert client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add")).status_code == 403, meta.label
    for name in ("moderation_appeal", "moderation_strike", "moderation_restriction", "moderation_policy"):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200
    client.post(
        reverse("admin:moderation_case_changelist"),
        {"action": "take_down", "_selected_action": [case.pk]},
    )
    case.refresh_from_db()
    assert case.state == CaseState.TAKEN_DOWN and case.strike.reason
    assert AuditEvent.objects.filter(action="moderation.decision").count() == 1
