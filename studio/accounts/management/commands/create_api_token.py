from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.accounts.models import User
from studio.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it once (it cannot be shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="cli")

    def handle(self, *args: object, email: str, name: str, **options: object) -> None:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with email {email}.")
        _, raw = api_token_create(user=user, name=name)
        self.stdout.write(raw)
