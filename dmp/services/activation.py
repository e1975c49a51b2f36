"""Activation of a patient's space with the code CHU staff hand her."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import Decision, InvalidInput
from chu_portal.ids import get_by_public_id_or_404
from records.models import Patient

from ..constants import DmpAction, NotificationKind, RecordStatus
from ..models import ActivationCode, SharedRecord
from . import notifications
from .records import parse_date, shared_record_for

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


MAX_ACTIVATION_ATTEMPTS = 5


def _username_for(patient: Patient) -> str:
    from django.utils.text import slugify

    base = slugify(f"{patient.first_name}.{patient.used_name or patient.birth_name}").replace("-", ".") or "patient"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


RECOVERY_REASON_MIN = 10


def activation_code_issue(*, actor, patient_id, reason: str = "") -> tuple[str, User]:
    """CHU staff hand a patient an activation code ("Pensez à activer votre espace santé"); traced.

    For an account already active the code is an account recovery (it will replace her password):
    it needs the staff member's reason, is traced and flagged for the DPO, and the patient is told
    at once in her inbox and by e-mail.
    """
    patient = get_by_public_id_or_404(Patient.objects.select_related("account"), patient_id, _("Patient introuvable."))
    if not (getattr(actor, "is_authenticated", False) and (actor.is_chu_staff or actor.role == Role.ADMIN)):
        audit.refuse(
            actor=actor,
            action=DmpAction.ISSUE_ACTIVATION_CODE,
            decision=Decision.deny("forbidden", _("Réservé au personnel du CHU.")),
            patient_id=patient.public_id,
            object_type=ObjectType.ACTIVATION_CODE,
        )
    recovery = patient.account is not None and patient.account.is_active
    reason = " ".join((reason or "").split())
    if recovery and len(reason) < RECOVERY_REASON_MIN:
        raise InvalidInput(
            _(
                "Ce compte est déjà actif : un nouveau code remplacera le mot de passe de la patiente. "
                "Indiquez pourquoi (au moins %(n)s caractères)."
            )
            % {"n": RECOVERY_REASON_MIN},
            fields={"reason": _("Motif obligatoire pour une récupération de compte.")},
        )
    raw = "-".join("".join(secrets.choice(CODE_ALPHABET) for _i in range(4)) for _j in range(3))
    with transaction.atomic():
        account = patient.account
        if account is None:
            account = User(
                username=_username_for(patient),
                first_name=patient.first_name,
                last_name=(patient.used_name or patient.birth_name).title(),
                role=Role.PATIENT,
                is_active=False,
            )
            account.set_unusable_password()
            account.save()
            Patient.objects.filter(pk=patient.pk).update(account=account)
        ActivationCode.objects.filter(patient=patient, used_at__isnull=True).update(expires=timezone.now())
        ActivationCode.objects.create(
            patient=patient,
            code_hash=ActivationCode.hash_code(raw),
            expires=timezone.now() + timedelta(days=settings.DMP_ACTIVATION_CODE_DAYS),
        )
        audit.record(
            actor=actor,
            action=Action.ACCOUNT_RECOVERY if recovery else DmpAction.ISSUE_ACTIVATION_CODE,
            mode=Mode.NONE,
            patient_id=patient.public_id,
            object_type=ObjectType.ACTIVATION_CODE,
            reason=reason[:500],
        )
        if recovery:
            _tell_patient(
                account,
                _(
                    "Le CHU a émis un code de récupération de votre compte (%(who)s). S'il est utilisé, votre "
                    "mot de passe sera remplacé et vos sessions fermées. Si vous ne l'avez pas demandé, "
                    "contactez le CHU."
                )
                % {"who": actor.display_name},
            )
    return raw, account


def _tell_patient(account: User, message: str) -> None:
    """A security message: in the inbox and by e-mail whatever her e-mail preference (no medical content)."""
    notifications.notify(recipient=account, kind=NotificationKind.SETTINGS, message=message[:400], email=True)


ACTIVATION_REFUSED = _("Code d'activation ou date de naissance incorrects, ou code expiré.")


def account_activate(*, code: str, birth_date, password: str) -> User:
    """The patient activates their space with the CHU's code, their birth date and a new password."""
    now = timezone.now()
    activation = (
        ActivationCode.objects.select_related("patient__account")
        .filter(code_hash=ActivationCode.hash_code(code or ""))
        .first()
    )
    try:
        birth = parse_date(birth_date)
    except InvalidInput:
        birth = None
    if (
        activation is None
        or activation.used_at
        or activation.expires <= now
        or activation.failed_attempts >= MAX_ACTIVATION_ATTEMPTS
    ):
        raise InvalidInput(str(ACTIVATION_REFUSED), fields={"code": str(ACTIVATION_REFUSED)})
    patient = activation.patient
    if birth != patient.birth_date:
        ActivationCode.objects.filter(pk=activation.pk).update(failed_attempts=activation.failed_attempts + 1)
        audit.record_refusal(
            actor=None,
            action=DmpAction.ACTIVATE,
            code="invalid",
            patient_id=patient.public_id,
            object_type=ObjectType.ACCOUNT,
        )
        raise InvalidInput(str(ACTIVATION_REFUSED), fields={"code": str(ACTIVATION_REFUSED)})
    account = patient.account
    try:
        validate_password(password, user=account)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        raise InvalidInput(message, fields={"password": message}) from exc
    recovery = account.is_active
    with transaction.atomic():
        used = ActivationCode.objects.filter(pk=activation.pk, used_at__isnull=True).update(used_at=now)
        if not used:
            raise InvalidInput(str(ACTIVATION_REFUSED))
        # A new password ends every session and API token of the account (accounts.models.User.save).
        account.set_password(password)
        account.is_active = True
        account.save(update_fields=["password", "is_active"])
        record = shared_record_for(patient)
        if not recovery and record.activated_at is None and record.status == RecordStatus.ACTIVE:
            # Using the code activates her DMP (the seam of the Assurance Maladie's letter): from now on she
            # may close it, no longer oppose it (docs/decisions.md, "The DMP's life").
            SharedRecord.objects.filter(pk=record.pk).update(activated_at=now)
        audit.record(
            actor=account,
            action=Action.ACCOUNT_RECOVERY if recovery else DmpAction.ACTIVATE,
            mode=Mode.SELF,
            patient_id=patient.public_id,
            object_type=ObjectType.ACCOUNT,
            object_id=account.public_id,
            reason="password replaced by an activation code" if recovery else "",
        )
        if recovery:
            _tell_patient(
                account,
                _(
                    "Votre mot de passe a été remplacé avec un code de récupération du CHU ; vos autres "
                    "sessions sont fermées. Si ce n'est pas vous, contactez le CHU sans attendre."
                ),
            )
    return account
