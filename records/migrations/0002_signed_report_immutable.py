"""PostgreSQL trigger: a signed report is never updated or deleted (a correction is a new version)."""
from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION records_signed_report_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'report % is signed and cannot change', OLD.public_id
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    schema_editor.execute(
        "CREATE TRIGGER records_report_signed_immutable BEFORE UPDATE OR DELETE ON records_report "
        "FOR EACH ROW WHEN (OLD.status = 'signed') EXECUTE FUNCTION records_signed_report_immutable()"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS records_report_signed_immutable ON records_report")
    schema_editor.execute("DROP FUNCTION IF EXISTS records_signed_report_immutable()")


class Migration(migrations.Migration):
    dependencies = [("records", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
