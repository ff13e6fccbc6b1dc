from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Imported here, not at the top: models must be loaded first (Django's app registry).
        from . import receivers  # streams registers who may watch calendars

        receivers.connect()
