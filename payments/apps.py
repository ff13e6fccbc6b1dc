from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # Imported here, not at the top: it uses models, which are not loaded yet when apps.py is imported.
        from . import periodic, privacy  # noqa: F401 - registers the clock's tasks (orphaned holds, payouts) and personal data
