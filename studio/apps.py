from django.apps import AppConfig


class StudioConfig(AppConfig):
    """The project package as an app, for the project-wide management commands (run_local, seed_demo)."""

    name = "studio"
    verbose_name = "Studio"
