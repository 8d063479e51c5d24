from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "studio.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from studio.audit import receivers  # noqa: F401 - sign-in, failed sign-in, password changes
