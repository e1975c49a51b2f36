"""The medical records office's unit (`RECORDS_OFFICE_UNIT_CODE`, "Archives médicales"), so that it exists everywhere."""

from django.conf import settings
from django.db import migrations


def create_unit(apps, schema_editor):
    Unit = apps.get_model("accounts", "Unit")
    Unit.objects.get_or_create(code=settings.RECORDS_OFFICE_UNIT_CODE, defaults={"name": "Archives médicales"})


class Migration(migrations.Migration):
    dependencies = [
        ("record_requests", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_unit, migrations.RunPython.noop)]
