from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "quotes"
    verbose_name = "Quotes, pricing and payments"

    def ready(self) -> None:
        # Imported here, not at the top: it uses models, which are not loaded yet when apps.py is imported.
        from . import periodic  # noqa: F401 - registers the clock's release of orphaned deposit holds
