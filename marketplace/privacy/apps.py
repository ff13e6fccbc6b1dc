from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "marketplace.privacy"
    label = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        # Imported here, not at the top: they use models, which are not loaded yet when apps.py is imported.
        from . import core, events, periodic  # noqa: F401 - the event type, the core's own parts, the clock's purges
