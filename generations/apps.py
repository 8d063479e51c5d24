from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Generations"

    def ready(self) -> None:
        # billing's ledger reconciliation asks us whether an open hold's job is finished.
        try:
            from billing.reconcile import register_hold_finished_checker
        except ImportError:  # pragma: no cover - billing without the hook
            return
        from generations.reconcile import hold_job_finished

        register_hold_finished_checker(hold_job_finished)
