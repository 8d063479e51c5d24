"""Create (once) the demo user, their team and a starter project, and give them credits. Idempotent."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from studio.accounts.models import User
from studio.accounts.services import user_create
from studio.projects.models import Project

DEMO_EMAIL = "demo@studio.local"
DEMO_PASSWORD = "demo-studio-1"  # noqa: S105 - printed on purpose: it is the local demo login


class Command(BaseCommand):
    help = "Create the local demo user (demo@studio.local), team, project and credits if missing; print the login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true")
        parser.add_argument(
            "--outside-debug",
            action="store_true",
            help="Create the demo superuser even though DEBUG is off (never on a server anyone else can reach).",
        )

    @transaction.atomic
    def handle(self, *args: object, quiet: bool = False, outside_debug: bool = False, **options: object) -> None:
        # The demo login is a superuser with a published password: outside local development it is a back door
        # (issue 13 finding 2), so it is made only with DEBUG on or when asked for by name.
        if not settings.DEBUG and not outside_debug:
            raise CommandError(
                "seed_demo creates a superuser with a published password and refuses to run with DEBUG off. "
                "Use DEBUG=1 locally, or pass --outside-debug if you really mean it."
            )
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            user = user_create(email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo", verified=True)
            user.is_staff = True
            user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        team = user.active_team
        if team is not None and not Project.objects.filter(team=team).exists():
            Project.objects.create(
                team=team, name="First project", created_by=user, description="A place for your first videos."
            )
        # Every run, not only the first: the grant is idempotent on its key, and a demo user created before
        # billing existed (or whose grant failed) still gets its credits exactly once.
        self._grant_demo_credits(user)
        if not quiet:
            self.stdout.write(
                self.style.SUCCESS(
                    f"\n  Demo login:  {DEMO_EMAIL}  /  {DEMO_PASSWORD}\n"
                    f"  Open:        {settings.PUBLIC_BASE_URL}/accounts/login/\n"
                )
            )

    def _grant_demo_credits(self, user: User) -> None:
        """DEMO_CREDITS into the demo user's personal wallet, through the ledger (idempotent on the user)."""
        from billing.ledger import grant
        from billing.wallets import personal_wallet

        if settings.DEMO_CREDITS > 0:
            grant(
                wallet=personal_wallet(user=user),
                amount=settings.DEMO_CREDITS,
                reason="Demo credits",
                created_by=None,
                key=f"demo-credits:{user.pk}",
            )
