# The job timeline moved to the timeline app (timeline/migrations/0001_initial): its table stays;
# this only drops the model from the audit app's state.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_audit_log_append_only"),
        ("timeline", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="JobTimelineEntry")],
            database_operations=[],
        ),
    ]
