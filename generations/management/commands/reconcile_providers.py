"""``python manage.py reconcile_providers --since YYYY-MM-DD``: provider bills next to our charges, per provider/day.

Prints one line per provider and day (jobs, seconds we charged, credits captured, provider cost, margin) and then
every job where the two disagree (``generations.provider_bills``). Exit status 1 when any job is listed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.provider_bills import provider_bill_report


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since must be a date like 2026-12-01, not {value!r}") from None


class Command(BaseCommand):
    help = "Compare what each provider billed with what we charged, per provider and day (providers' bills)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="first day (YYYY-MM-DD, UTC)")
        parser.add_argument("--until", default=None, help="day after the last one (YYYY-MM-DD, UTC; default: none)")

    def handle(self, *args: Any, **options: Any) -> None:
        since = _date(options["since"])
        until = _date(options["until"]) if options["until"] else None
        report = provider_bill_report(since=since, until=until)
        out = self.stdout
        out.write(
            f"{'day':<10}  {'provider':<10} {'jobs':>5} {'seconds':>9} {'credits':>9} {'cost USD':>10} {'margin':>10}"
        )
        for row in report.rows:
            cost = f"{row.provider_cost_usd}" + ("+?" if row.cost_unknown_jobs else "")
            margin = "unknown" if row.margin_usd is None else f"{row.margin_usd}"
            out.write(
                f"{row.day.isoformat():<10}  {row.provider:<10} {row.jobs:>5} {row.seconds_charged:>9g} "
                f"{row.credits_captured:>9} {cost:>10} {margin:>10}"
            )
        out.write(f"total: {report.credits_captured} credits captured, {report.seconds_charged:g} s charged")
        if not report.mismatches:
            out.write("no mismatches")
            return
        out.write(f"{len(report.mismatches)} mismatching job(s):")
        for mismatch in report.mismatches:
            out.write(f"  {mismatch.day} {mismatch.provider} {mismatch.job_id} {mismatch.kind}: {mismatch.detail}")
        raise SystemExit(1)
