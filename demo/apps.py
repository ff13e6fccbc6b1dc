from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for `make run` (`manage.py seed_demo`): it spans every app, so it sits above them all."""

    name = "demo"
    verbose_name = "Demo data"
