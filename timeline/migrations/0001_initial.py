# The job timeline moved from the audit app to its own: the table stays where it is
# (audit_jobtimelineentry); only Django's record of which app owns the model changes.

import django.utils.timezone
from django.db import migrations, models

from marketplace.migration_ops import content_types_follow


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("audit", "0002_audit_log_append_only"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="JobTimelineEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("job_id", models.BigIntegerField()),
                        ("event_id", models.UUIDField()),
                        ("sequence", models.BigIntegerField(help_text="The event's position in the job's history.")),
                        ("event_type", models.CharField(max_length=100)),
                        ("occurred_at", models.DateTimeField()),
                        ("actor_id", models.BigIntegerField(blank=True, null=True)),
                        ("actor_role", models.CharField(choices=[("customer", "Customer"), ("tradesperson", "Tradesperson"), ("system", "System"), ("staff", "Staff")], max_length=20)),
                        ("visibility", models.CharField(choices=[("both", "Both parties"), ("customer", "Customer only"), ("tradesperson", "Tradesperson only")], max_length=20)),
                        ("tradesperson_id", models.BigIntegerField(blank=True, null=True)),
                        ("bidders", models.BooleanField(default=False)),
                        ("summary", models.CharField(max_length=500)),
                        ("data", models.JSONField(default=dict)),
                        ("recorded_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        "verbose_name_plural": "job timeline entries",
                        "ordering": ["job_id", "sequence", "id"],
                        "db_table": "audit_jobtimelineentry",
                        "indexes": [models.Index(fields=["job_id", "sequence"], name="timeline_job_seq_idx")],
                        "constraints": [models.UniqueConstraint(fields=("job_id", "event_id"), name="timeline_once_per_event")],
                    },
                ),
            ],
            database_operations=[],
        ),
        content_types_follow("timeline", ["jobtimelineentry"], from_app="audit"),
    ]
