from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from . import streams  # noqa: F401 - registers who may watch the dashboards live (insights.<user_id>, insights.platform)
