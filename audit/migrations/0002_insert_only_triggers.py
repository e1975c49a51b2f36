"""PostgreSQL triggers: traces and seals refuse UPDATE, DELETE and TRUNCATE outside maintenance; txid stamping."""
from django.db import migrations

PROTECTED = ("audit_auditevent", "audit_auditseal")

FUNCTIONS = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    IF current_setting('chu.audit_maintenance', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit trail is insert-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION audit_stamp_txid() RETURNS trigger AS $$
BEGIN
    NEW.txid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS, params=None)
    for table in PROTECTED:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )
    schema_editor.execute(
        "CREATE TRIGGER audit_auditevent_txid BEFORE INSERT ON audit_auditevent "
        "FOR EACH ROW EXECUTE FUNCTION audit_stamp_txid()"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS audit_auditevent_txid ON audit_auditevent")
    for table in PROTECTED:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_insert_only ON {table}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_refuse_change(); DROP FUNCTION IF EXISTS audit_stamp_txid();")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
