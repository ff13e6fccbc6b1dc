from django.apps import AppConfig

from marketplace.events.hooks import register_batch_hook


class RealtimeConfig(AppConfig):
    name = "marketplace.realtime"
    label = "realtime"
    verbose_name = "Real-time pushes"

    def ready(self) -> None:
        # Imported here, not at the top: both use models, which are not loaded yet when apps.py is imported.
        from . import push, signals  # noqa: F401 - signals: logging out closes that session's sockets

        # The consumer runner sends each batch's pushes together, after its commit (without importing us).
        register_batch_hook(push.batched)
