from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # Imported here, not at the top: they use models, which are not loaded yet when apps.py is imported.
        from . import periodic, privacy, receivers, streams  # noqa: F401 - register the clock's task, personal data, photo file clean-up, who may watch job streams
