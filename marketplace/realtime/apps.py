from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "marketplace.realtime"
    label = "realtime"
    verbose_name = "Real-time pushes"
