from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Imported here, not at the top: they use models, which are not loaded yet when apps.py is imported.
        # periodic registers the clock's reminders, streams who may watch calendars, receivers answer jobs' signals,
        # privacy the personal data it holds.
        from . import periodic, privacy, receivers, streams  # noqa: F401

        receivers.connect()
