"""Two narrow, documented ways past the audit log's append-only trigger (UK GDPR).

- Redaction: an UPDATE that changes nothing but ``payload``, and only inside a transaction that set
  ``tradelink.audit_redaction = 'on'`` (``SET LOCAL``; marketplace/audit/services.py ``audit_redact``, run by
  the erasure of a person).  Every other column (event id, type, aggregate, actor id, times) stays as written.
- Retention: a DELETE of a row that occurred before ``tradelink.audit_purge_before`` (a timestamp set with
  ``SET LOCAL`` by ``audit_purge``, the retention purge), nothing newer.

Everything else is still refused.  The trigger guards against the application's own mistakes; a database
owner could always drop it, which is why the app's role should not own the table in production.
"""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('tradelink.audit_redaction', true) = 'on'
       AND to_jsonb(NEW) - 'payload' = to_jsonb(OLD) - 'payload' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE'
       AND coalesce(current_setting('tradelink.audit_purge_before', true), '') <> ''
       AND OLD.occurred_at < current_setting('tradelink.audit_purge_before', true)::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
"""

REVERSE = """
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_timeline_moves_to_its_own_app")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
