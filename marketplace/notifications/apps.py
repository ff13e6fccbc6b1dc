from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "marketplace.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Imported here, not at the top: it uses models, which are not loaded yet when apps.py is imported.
        from . import periodic  # noqa: F401 - registers the clock's sending of pending email/SMS
