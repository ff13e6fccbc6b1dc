from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"

    def ready(self) -> None:
        from . import streams  # noqa: F401 - registers who may watch a visit live (track.<job_id>)
