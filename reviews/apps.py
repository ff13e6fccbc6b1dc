from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        from . import streams  # noqa: F401 - registers who may watch a public profile live (pro.<user_id>)
