"""Quote versions are append-only, enforced by the database.

A revision is a new version; an accepted version is the contract. So the database refuses
any UPDATE of a quote option or line, and any UPDATE of a version other than setting its
``accepted_at`` once. Whatever code runs, an accepted quote cannot change under a customer.
"""

from django.db import migrations

SQL = """
CREATE FUNCTION quotes_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'quote % rows are append-only: publish a new version instead', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE FUNCTION quotes_version_accept_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.accepted_at IS NULL AND NEW.accepted_at IS NOT NULL
       AND (NEW.bid_id, NEW.number, NEW.notes, NEW.valid_until, NEW.discount_kind, NEW.discount_value, NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.bid_id, OLD.number, OLD.notes, OLD.valid_until, OLD.discount_kind, OLD.discount_value, OLD.created_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'quote version % is frozen: only its acceptance may be recorded, once', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER quotes_quoteline_frozen BEFORE UPDATE ON quotes_quoteline
    FOR EACH ROW EXECUTE FUNCTION quotes_refuse_change();
CREATE TRIGGER quotes_quoteoption_frozen BEFORE UPDATE ON quotes_quoteoption
    FOR EACH ROW EXECUTE FUNCTION quotes_refuse_change();
CREATE TRIGGER quotes_quoteversion_frozen BEFORE UPDATE ON quotes_quoteversion
    FOR EACH ROW EXECUTE FUNCTION quotes_version_accept_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS quotes_quoteversion_frozen ON quotes_quoteversion;
DROP TRIGGER IF EXISTS quotes_quoteoption_frozen ON quotes_quoteoption;
DROP TRIGGER IF EXISTS quotes_quoteline_frozen ON quotes_quoteline;
DROP FUNCTION IF EXISTS quotes_version_accept_only();
DROP FUNCTION IF EXISTS quotes_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("quotes", "0002_quotes_payments")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
