from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from django.core import checks

        from billing import dbguard
        from billing.checks import check_stripe_settings

        dbguard.install()

        checks.register(check_stripe_settings, "billing")
