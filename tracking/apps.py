from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"

    def ready(self) -> None:
        # Imported here, not at the top: they use models, which are not loaded yet when apps.py is imported.
        from . import privacy, streams  # noqa: F401 - register personal data (the GPS trail purge) and who may watch a visit live (track.<job_id>)
