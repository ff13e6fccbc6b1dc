"""Flag outbox rows that the relay publishes as Kafka tombstones (null value, envelope in a header).

ADD COLUMN with a constant default: no table rewrite on Postgres 11+, and the
``events_outbox_notify`` statement trigger from 0002 is untouched.  The database
default lets processes of the previous release keep inserting rows during a deploy.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("events", "0002_outbox_notify_trigger")]

    operations = [
        migrations.AddField(
            model_name="outboxevent",
            name="tombstone",
            field=models.BooleanField(db_default=False, default=False),
        ),
    ]
