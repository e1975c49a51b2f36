"""GP-level rights as designations and guardian permissions (the `gp` column goes), version lineages for masks,
the profile matrix, and the readers' table (issue 16; docs/domain.md)."""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# profession -> the profile kinds it reads (docs/domain.md, "The medical profile").
PROFILE_DEFAULT = {
    "medecin": {"allergy", "vaccination", "treatment", "history"},
    "sage_femme": {"allergy", "vaccination", "treatment", "history"},
    "infirmier": {"allergy", "vaccination", "treatment"},
    "pharmacien": {"allergy", "treatment"},
    "kinesitherapeute": {"allergy", "history"},
    "chirurgien_dentiste": {"allergy", "treatment", "history"},
    "secretaire_medicale": set(),
}
KINDS = ["allergy", "vaccination", "treatment", "history"]


def seed_profile_matrix(apps, schema_editor):
    matrix = apps.get_model("dmp", "ProfileMatrixEntry")
    for profession, kinds in PROFILE_DEFAULT.items():
        for kind in KINDS:
            matrix.objects.get_or_create(profession=profession, kind=kind, defaults={"allowed": kind in kinds})


def forward(apps, schema_editor):
    document = apps.get_model("dmp", "SharedDocument")
    # Each version takes its first version's lineage (chains are short: a report's amendments).
    firsts = document.objects.filter(replaces__isnull=True)
    for first in firsts.iterator():
        lineage = uuid.uuid4()
        current = first
        while current is not None:
            document.objects.filter(pk=current.pk).update(lineage=lineage)
            current = document.objects.filter(replaces=current).first()
    # Masks follow the document: a chain with one masked version is masked in every version.
    for lineage in set(document.objects.filter(masked=True).values_list("lineage", flat=True)):
        document.objects.filter(lineage=lineage).update(masked=True)

    seed_profile_matrix(apps, schema_editor)

    # The médecin traitant column becomes a designation in force and its guardian permission.
    content_type, _ = apps.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="dmp", model="sharedrecord"
    )
    permission, _ = apps.get_model("auth", "Permission").objects.get_or_create(
        codename="gp_rights",
        content_type=content_type,
        defaults={"name": "GP-level rights on the DMP (médecin traitant DMP)"},
    )
    record_model = apps.get_model("dmp", "SharedRecord")
    designation = apps.get_model("dmp", "Designation")
    object_permission = apps.get_model("dmp", "SharedRecordUserObjectPermission")
    now = django.utils.timezone.now()
    for record in record_model.objects.filter(gp__isnull=False).iterator():
        designation.objects.create(
            record=record, doctor_id=record.gp_id, kind="gp", status="active", proposed_at=now, accepted_at=now
        )
        object_permission.objects.get_or_create(user_id=record.gp_id, permission=permission, content_object=record)


def backward(apps, schema_editor):
    record_model = apps.get_model("dmp", "SharedRecord")
    for item in apps.get_model("dmp", "Designation").objects.filter(kind="gp", status="active"):
        record_model.objects.filter(pk=item.record_id).update(gp_id=item.doctor_id)
    apps.get_model("dmp", "SharedRecordUserObjectPermission").objects.filter(permission__codename="gp_rights").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dmp", "0008_drop_grant_object_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Designation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("gp", "Médecin traitant"),
                            ("gp_level", "Médecin ayant les droits du médecin traitant"),
                        ],
                        max_length=10,
                        verbose_name="type",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("proposed", "Proposée"),
                            ("active", "En vigueur"),
                            ("declined", "Déclinée"),
                            ("ended", "Terminée"),
                        ],
                        max_length=10,
                        verbose_name="statut",
                    ),
                ),
                ("in_person", models.BooleanField(default=False, verbose_name="faite en consultation")),
                ("proposed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("accepted_at", models.DateTimeField(blank=True, null=True)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-proposed_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="DmpReader",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("first_read_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("first_mode", models.CharField(max_length=20)),
            ],
        ),
        migrations.CreateModel(
            name="ProfileMatrixEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "profession",
                    models.CharField(
                        choices=[
                            ("medecin", "Médecin"),
                            ("sage_femme", "Sage-femme"),
                            ("infirmier", "Infirmier"),
                            ("pharmacien", "Pharmacien"),
                            ("kinesitherapeute", "Masseur-kinésithérapeute"),
                            ("chirurgien_dentiste", "Chirurgien-dentiste"),
                            ("secretaire_medicale", "Secrétaire médicale"),
                        ],
                        max_length=30,
                        verbose_name="profession",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("allergy", "Allergie"),
                            ("vaccination", "Vaccination"),
                            ("treatment", "Traitement"),
                            ("history", "Antécédent"),
                        ],
                        max_length=15,
                        verbose_name="catégorie",
                    ),
                ),
                ("allowed", models.BooleanField(default=False, verbose_name="lecture autorisée")),
            ],
            options={
                "verbose_name": "case de la matrice du profil médical",
                "verbose_name_plural": "matrice du profil médical",
                "ordering": ["kind", "profession"],
            },
        ),
        migrations.AlterModelOptions(
            name="sharedrecord",
            options={"permissions": [("gp_rights", "GP-level rights on the DMP (médecin traitant DMP)")]},
        ),
        migrations.RemoveConstraint(
            model_name="shareddocument",
            name="dmp_doc_not_masked_and_invisible",
        ),
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("new_document", "Nouveau document"),
                    ("new_access", "Nouvel accès"),
                    ("emergency_access", "Accès d'urgence"),
                    ("consent_request", "Demande d'autorisation"),
                    ("consent_answer", "Réponse à une demande d'autorisation"),
                    ("settings", "Paramètres"),
                    ("designation", "Médecin traitant"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="designation",
            name="doctor",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="dmp_designations",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="designation",
            name="ended_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="designation",
            name="record",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="designations", to="dmp.sharedrecord"
            ),
        ),
        migrations.AddField(
            model_name="dmpreader",
            name="professional",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="dmpreader",
            name="record",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="readers", to="dmp.sharedrecord"
            ),
        ),
        migrations.AddConstraint(
            model_name="profilematrixentry",
            constraint=models.UniqueConstraint(fields=("profession", "kind"), name="dmp_profile_matrix_unique"),
        ),
        migrations.AddConstraint(
            model_name="profilematrixentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "profession__in",
                        [
                            "medecin",
                            "sage_femme",
                            "infirmier",
                            "pharmacien",
                            "kinesitherapeute",
                            "chirurgien_dentiste",
                            "secretaire_medicale",
                        ],
                    )
                ),
                name="dmp_profile_matrix_profession_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="profilematrixentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["allergy", "vaccination", "treatment", "history"])),
                name="dmp_profile_matrix_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="designation",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["gp", "gp_level"])), name="dmp_designation_kind_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="designation",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["proposed", "active", "declined", "ended"])),
                name="dmp_designation_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="designation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "gp"), ("status", "active")),
                fields=("record",),
                name="dmp_designation_one_gp",
            ),
        ),
        migrations.AddConstraint(
            model_name="designation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["proposed", "active"])),
                fields=("record", "doctor"),
                name="dmp_designation_one_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="designation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "active"), _negated=True), ("accepted_at__isnull", False), _connector="OR"
                ),
                name="dmp_designation_active_accepted",
            ),
        ),
        migrations.AddConstraint(
            model_name="dmpreader",
            constraint=models.UniqueConstraint(fields=("record", "professional"), name="dmp_reader_unique"),
        ),
        migrations.AddField(
            model_name="shareddocument",
            name="lineage",
            field=models.UUIDField(db_index=True, null=True, editable=False),
        ),
        migrations.RunPython(forward, backward),
        migrations.RemoveField(
            model_name="sharedrecord",
            name="gp",
        ),
        migrations.AlterField(
            model_name="shareddocument",
            name="lineage",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
    ]
