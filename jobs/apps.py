from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # Imported here, not at the top: they use models, which are not loaded yet when apps.py is imported.
        from . import periodic, receivers, streams  # noqa: F401 - register the clock's task, photo file clean-up, who may watch job streams
