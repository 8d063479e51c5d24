from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from studio.accounts.models import User
from studio.accounts.services import ApiTokenError, api_token_create
from studio.teams.models import Team


class Command(BaseCommand):
    help = (
        "Create a personal API token for a user and print it once (it cannot be shown again). The token acts in one "
        "team (default: the user's active team) with a role no higher than the user's there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--team", default="", help="Team slug or id (default: the user's active team).")
        parser.add_argument("--role", default="", help="owner, admin, member or viewer (default: the user's role).")
        parser.add_argument("--expires-days", type=int, default=0, help="Expire after this many days (0: never).")

    def handle(
        self, *args: object, email: str, name: str, team: str, role: str, expires_days: int, **options: object
    ) -> None:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with email {email}.")
        chosen = None
        if team:
            chosen = Team.objects.filter(slug=team).first() or (
                Team.objects.filter(pk=int(team)).first() if team.isdigit() else None
            )
            if chosen is None:
                raise CommandError(f"No team {team!r}.")
        if expires_days < 0:
            raise CommandError("--expires-days must be 0 (never) or more.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            _, raw = api_token_create(user=user, name=name, team=chosen, role=role, expires_at=expires_at)
        except ApiTokenError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
