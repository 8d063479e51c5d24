from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "studio.teams"
    label = "teams"
    verbose_name = "Teams"

    def ready(self) -> None:
        from studio.teams import receivers  # noqa: F401 - a member's email change refreshes their teams' lists
