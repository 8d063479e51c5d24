from django.apps import AppConfig


class StudioConfig(AppConfig):
    """The project package as an app, for the project-wide management commands (run_local, seed_demo)."""

    name = "studio"
    verbose_name = "Studio"

    def ready(self) -> None:
        from studio.logs import connect_signals

        connect_signals()  # request, job and team ids on every log line (studio/logs.py)
