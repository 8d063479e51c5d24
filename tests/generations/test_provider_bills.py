"""Provider-bill reconciliation (issue 9 item 5): when the emulator reports different charges for chosen jobs (its
``/_control/billing`` fault), the report lists exactly those jobs, and its totals match the ledger."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from billing.models import Hold
from generations.models import GenerationJob
from generations.provider_bills import provider_bill_report
from generations.providers.base import Mode
from generations.reconcile import reconcile_jobs
from generations.services.jobs import generation_create
from generations.states import State
from tests.clock import mid_month
from tests.generations.helpers import balance
from tests.generations.test_generation_lifecycle import request_for


def _start(pipeline, provider: str, prompt: str) -> GenerationJob:
    job = generation_create(
        user=pipeline.world.member,
        project=pipeline.world.project,
        request=request_for(pipeline, Mode.TEXT_TO_VIDEO, provider, prompt=prompt),
    )
    # Run until the provider accepted it (so its bill can be changed before our poll reads the result).
    pipeline.worker.drain(until=lambda: GenerationJob.objects.get(pk=job.pk).provider_job_id != "")
    job.refresh_from_db()
    return job


def _report_charge(pipeline, job: GenerationJob, **charge: int) -> None:
    client = pipeline.emulator.client()
    answer = client.post("/_control/billing", json={"provider": job.provider, "job_id": job.provider_job_id, **charge})
    assert answer.status_code == 200, answer.text


# From noon of a fixed day (the clock ticks): the jobs, finished over a few seconds, have one day's row per provider.
@mid_month(tick=True)
def test_reconciliation_lists_exactly_the_jobs_whose_bills_differ_and_matches_the_ledger(pipeline, settings):
    world = pipeline.world
    since = timezone.now().date()
    before = balance(world.member, world.team)

    fine = [_start(pipeline, "pixverse", f"a calm sea {n}") for n in range(2)]
    fine.append(_start(pipeline, "dashscope", "a calm lake"))
    failed_fine = _start(pipeline, "pixverse", "a storm #fail")  # refunded, and PixVerse refunds it too
    overbilled = _start(pipeline, "pixverse", "a red kite")
    _report_charge(pipeline, overbilled, credits=999)  # PixVerse says 999 credits for a 2 s job
    longer = _start(pipeline, "dashscope", "a slow river")
    _report_charge(pipeline, longer, billed_seconds=9)  # DashScope's usage.duration says 9 s, we held 2 s
    charged_refund = _start(pipeline, "pixverse", "a broken bridge #fail")
    _report_charge(pipeline, charged_refund, credits=12)  # a failed (refunded) job PixVerse still bills
    # A create whose answer was lost and that the provider never confirms: "not found" at the provider.
    pipeline.emulator.arm(provider="pixverse", fault="timeout", on="create", times=1)
    lost = generation_create(
        user=world.member, project=world.project, request=request_for(pipeline, Mode.TEXT_TO_VIDEO, "pixverse")
    )
    jobs = [*fine, failed_fine, overbilled, longer, charged_refund]
    pipeline.worker.settle(*jobs)
    pipeline.worker.drain()
    settings.GENERATIONS_UNKNOWN_GRACE_SECONDS = 0
    reconcile_jobs()
    lost.refresh_from_db()
    assert lost.state == State.FAILED and lost.error_code == "unconfirmed_submit"
    assert [job.state for job in fine] == [State.SUCCEEDED] * 3
    assert (overbilled.state, longer.state) == (State.SUCCEEDED, State.SUCCEEDED)
    assert (failed_fine.state, charged_refund.state) == (State.FAILED, State.FAILED)

    report = provider_bill_report(since=since)
    listed = {mismatch.job_id: mismatch.kind for mismatch in report.mismatches}
    assert listed == {
        str(overbilled.pk): "seconds",
        str(longer.pk): "seconds",
        str(charged_refund.pk): "refunded",
        str(lost.pk): "not_found",
    }
    # Totals: the credits captured are exactly what left the member's wallet, and what the holds (ledger) captured.
    every = [*jobs, lost]
    holds = Hold.objects.filter(pk__in=[job.hold_id for job in every])
    assert (
        report.credits_captured
        == sum(hold.captured_amount for hold in holds)
        == before - balance(world.member, world.team)
    )
    assert report.credits_captured > 0
    assert sum(row.jobs for row in report.rows) == len(every)
    assert report.seconds_charged == pytest.approx(2.0 * 5)  # five captured jobs of 2 s (the cap holds for 9 s)
    pixverse = next(row for row in report.rows if row.provider == "pixverse")
    # PixVerse's cost is its reported credits at $1 = 200 credits: 12 + 12 (fine) + 999 + 12 (billed refund) + 0.
    assert pixverse.provider_cost_usd == Decimal("0.005") * (12 + 12 + 999 + 12)
    assert pixverse.margin_usd is not None
    dashscope = next(row for row in report.rows if row.provider == "dashscope")
    assert dashscope.margin_usd is None and dashscope.cost_unknown_jobs == 2  # no public DashScope prices

    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("reconcile_providers", "--since", since.isoformat(), stdout=out)
    assert exited.value.code == 1
    text = out.getvalue()
    for job_id in listed:
        assert job_id in text
    assert str(fine[0].pk) not in text
    assert f"{report.credits_captured} credits captured" in text


def test_reconciliation_of_a_quiet_period_lists_nothing(pipeline):
    job = _start(pipeline, "pixverse", "a quiet field")
    pipeline.worker.settle(job)
    out = io.StringIO()
    call_command("reconcile_providers", "--since", timezone.now().date().isoformat(), stdout=out)
    assert "no mismatches" in out.getvalue()
    later = timezone.now().date() + timedelta(days=1)
    assert provider_bill_report(since=later).rows == []


def test_the_staff_page_is_for_staff_only(pipeline):
    world = pipeline.world
    url = reverse("generations:staff-provider-bills")
    assert world.client_for(world.member).get(url).status_code == 404
    assert world.client_for(None).get(url).status_code == 302
    world.owner.is_staff = True
    world.owner.save(update_fields=["is_staff"])
    page = world.client_for(world.owner).get(url, {"since": timezone.now().date().isoformat()})
    assert page.status_code == 200
    assert b"Provider bills" in page.content
    assert b"PixVerse Platform: <strong>" in page.content  # its live balance, read from the (emulated) account
    assert world.client_for(world.owner).get(url, {"since": "not-a-date"}).status_code == 200


@pytest.mark.django_db
def test_a_bad_since_date_is_a_clear_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="date like"):
        call_command("reconcile_providers", "--since", "12/01")
