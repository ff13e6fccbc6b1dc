from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "marketplace.realtime"
    label = "realtime"
    verbose_name = "Real-time pushes"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - logging out closes that session's sockets
