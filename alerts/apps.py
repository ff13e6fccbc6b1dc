from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Staff alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import streams  # noqa: F401 - registers who may watch the inbox live (staff.alerts)
