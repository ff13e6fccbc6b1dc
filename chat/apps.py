from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Job chat"

    def ready(self) -> None:
        from . import privacy, streams  # noqa: F401 - registers personal data and who may watch a chat thread live
