"""Seed the access matrix with the default table of docs/domain.md (assumed; an admin edits it)."""

from django.db import migrations

PROFESSIONS = ["medecin", "sage_femme", "infirmier", "pharmacien", "kinesitherapeute", "chirurgien_dentiste"]

# document key -> the professions that may read it (docs/domain.md, "The access matrix").
DEFAULT = {
    "11490-0": set(PROFESSIONS),  # discharge letter
    "34874-8": {"medecin", "sage_femme", "kinesitherapeute"},  # operative report
    "15507-7": {"medecin", "sage_femme", "infirmier"},  # emergency visit
    "18748-4": {"medecin", "sage_femme", "kinesitherapeute", "chirurgien_dentiste"},  # imaging report
    "11502-2": {"medecin", "sage_femme", "infirmier", "pharmacien", "chirurgien_dentiste"},  # lab report
    "11488-4": {"medecin", "sage_femme"},  # consultation report
    "90": set(PROFESSIONS),  # the patient's own documents (class 90)
    # Types professionals may add that the default table does not list (assumed).
    "11369-6": set(PROFESSIONS),  # vaccination history
    "57833-6": {"medecin", "sage_femme", "infirmier", "pharmacien"},  # prescription
    "34133-9": {"medecin", "sage_femme"},  # other document
}


def seed(apps, schema_editor):
    entry = apps.get_model("dmp", "AccessMatrixEntry")
    for key, allowed in DEFAULT.items():
        for profession in PROFESSIONS:
            entry.objects.get_or_create(
                profession=profession, document_key=key, defaults={"allowed": profession in allowed}
            )


def unseed(apps, schema_editor):
    apps.get_model("dmp", "AccessMatrixEntry").objects.filter(document_key__in=DEFAULT).delete()


class Migration(migrations.Migration):
    dependencies = [("dmp", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
