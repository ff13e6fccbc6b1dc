from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "quotes"
    verbose_name = "Quotes, pricing and promos"

    def ready(self) -> None:
        # Imported here, not at the top: they use models, which are not loaded yet when apps.py is imported.
        from . import periodic, privacy, receivers  # noqa: F401 - periodic registers the clock's retry of invoice emails; privacy, personal data

        receivers.connect()
