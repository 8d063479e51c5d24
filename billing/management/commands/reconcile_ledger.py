"""``python manage.py reconcile_ledger``: check the ledger's invariants; exit 1 if anything is off. Fixes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.reconcile import DEFAULT_STALE_AFTER, reconcile


class Command(BaseCommand):
    help = "Check wallet balances against ledger entries, zero-sum transactions and stale open holds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stale-minutes",
            type=int,
            default=int(DEFAULT_STALE_AFTER.total_seconds() // 60),
            help="Report open holds older than this whose job is finished.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile(stale_after=timedelta(minutes=options["stale_minutes"]))
        if not report.ok:
            self.stderr.write(report.summary())
            raise CommandError(f"{len(report.problems)} ledger problem(s) found.")
        self.stdout.write(self.style.SUCCESS(report.summary()))
