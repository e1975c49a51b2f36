"""Data only: remove the django-guardian copies of grants (no decision ever read them; grants are checked in SQL)."""

from django.db import migrations


def drop_grant_permissions(apps, schema_editor):
    permission = apps.get_model("dmp", "SharedRecordUserObjectPermission")
    permission.objects.filter(permission__codename="view_sharedrecord").delete()


class Migration(migrations.Migration):
    dependencies = [("dmp", "0007_consent_request_expired")]

    operations = [migrations.RunPython(drop_grant_permissions, migrations.RunPython.noop)]
