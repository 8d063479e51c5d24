from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "studio.teams"
    label = "teams"
    verbose_name = "Teams"
