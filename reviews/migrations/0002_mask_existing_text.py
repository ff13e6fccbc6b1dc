"""Reviews and replies written before masking covered them are stored masked now, as ``reviews.services`` stores new ones."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from marketplace.masking import mask


def mask_existing(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    review_model = apps.get_model("reviews", "Review")
    for review in review_model.objects.only("pk", "comment", "reply").iterator():
        comment, reply = mask(review.comment), mask(review.reply)
        if (comment, reply) != (review.comment, review.reply):
            review_model.objects.filter(pk=review.pk).update(comment=comment, reply=reply)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]

    operations = [migrations.RunPython(mask_existing, migrations.RunPython.noop, elidable=True)]
