from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        from . import privacy, streams  # noqa: F401 - registers personal data and who may watch a public profile live (pro.<user_id>)
