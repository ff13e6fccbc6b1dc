"""Wake the relay on every outbox insert (LISTEN/NOTIFY; delivered at commit)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION events_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER events_outbox_notify
AFTER INSERT ON events_outboxevent
FOR EACH STATEMENT EXECUTE FUNCTION events_outbox_notify();
"""

DROP = """
DROP TRIGGER IF EXISTS events_outbox_notify ON events_outboxevent;
DROP FUNCTION IF EXISTS events_outbox_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
