"""``python manage.py grant_credits EMAIL AMOUNT --reason TEXT``: give a user free credits (their personal wallet)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.ledger import grant
from billing.wallets import personal_wallet
from studio.accounts.models import User


class Command(BaseCommand):
    help = "Grant AMOUNT free credits to the personal wallet of the user with EMAIL. A reason is required."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("amount", type=int)
        parser.add_argument("--reason", required=True, help="Why (kept in the ledger).")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"]).first()
        if user is None:
            raise CommandError(f"No user with email {options['email']}.")
        if options["amount"] <= 0:
            raise CommandError("AMOUNT must be a positive number of credits.")
        if not options["reason"].strip():
            raise CommandError("--reason must not be empty.")
        wallet = personal_wallet(user=user)
        grant(wallet=wallet, amount=options["amount"], reason=options["reason"], created_by=None)
        wallet.refresh_from_db()
        self.stdout.write(self.style.SUCCESS(f"Granted {options['amount']} credits to {user.email}: {wallet.balance}."))
