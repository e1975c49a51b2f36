"""`manage.py issue_activation_code IPP --by USERNAME`: the CHU hands a patient their activation code (traced)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from chu_portal.errors import ServiceError
from dmp.services import activation
from records.models import Patient


class Command(BaseCommand):
    help = "Issue an activation code for a patient's space (prints it once; stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("ipp")
        parser.add_argument("--by", required=True, help="username of the CHU staff member or admin handing it")
        parser.add_argument(
            "--reason", default="", help="required when the account is already active (an account recovery, flagged)"
        )

    def handle(self, *args, ipp, by, reason="", **options):
        patient = Patient.objects.filter(ipp=ipp).first()
        actor = User.objects.filter(username=by).first()
        if patient is None or actor is None:
            raise CommandError("unknown patient IPP or username")
        try:
            code, account = activation.activation_code_issue(actor=actor, patient_id=patient.public_id, reason=reason)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"username: {account.username}\nactivation code: {code}")
