from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "studio.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from studio.accounts.mfa import connect_signals

        connect_signals()  # audit rows for MFA changes
