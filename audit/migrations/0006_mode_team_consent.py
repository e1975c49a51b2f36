"""The trace mode `team_consent` (CSP R.1111-46: consent to a care-team member covers the team)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_action_open_vocabulary'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='mode',
            field=models.CharField(blank=True, choices=[('', 'none'), ('self', 'self'), ('care_team', 'care team'), ('opinion_request', 'opinion request'), ('gp', 'GP'), ('author', 'author'), ('consent', 'consent'), ('in_person_consent', 'in-person consent'), ('team_consent', 'team consent'), ('emergency', 'emergency'), ('samu', 'SAMU'), ('feed', 'feed'), ('dpo_review', 'DPO review'), ('admin', 'admin')], max_length=30),
        ),
    ]
