"""Operations shared by migrations that move models between apps."""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def content_types_follow(app_label: str, models: list[str], *, from_app: str = "quotes") -> migrations.RunPython:
    """Keep permissions and admin history: the content types of the moved models change app, not id."""

    def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        content_type = apps.get_model("contenttypes", "ContentType")
        for model in models:
            content_type.objects.filter(app_label=app_label, model=model).delete()
            content_type.objects.filter(app_label=from_app, model=model).update(app_label=app_label)

    def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        content_type = apps.get_model("contenttypes", "ContentType")
        content_type.objects.filter(app_label=app_label, model__in=models).update(app_label=from_app)

    return migrations.RunPython(forwards, backwards)
