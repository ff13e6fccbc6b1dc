"""The audit log is append-only, enforced by the database.

Postgres refuses every UPDATE and DELETE of an audit row, whatever code or admin action
tries it.  Rows are only ever INSERTed by the audit consumer.  TRUNCATE is left to the
database owner (test database flushes use it; revoke it from the app's role in production).
"""

from django.db import migrations

SQL = """
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER audit_auditlog_append_only BEFORE UPDATE OR DELETE ON audit_auditlog
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS audit_auditlog_append_only ON audit_auditlog;
DROP FUNCTION IF EXISTS audit_log_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
