from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class EventsConfig(AppConfig):
    name = "marketplace.events"
    label = "events"
    verbose_name = "Event backbone"

    def ready(self) -> None:
        # Every app declares its event types in `<app>/events.py`; importing them
        # registers the types so producers and consumers can validate envelopes.
        autodiscover_modules("events")
