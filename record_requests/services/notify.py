"""Who is told of each step of a record request, in the portal's inbox (kind `record_request`), never naming medical content.

The requester (the patient, or her parent or guardian) is told of every step; the adult patient is told too
when someone else asked for her record (a guardian). An heir has no account: the office answers him on paper
and the copy goes to the doctor he named, who finds it in his secure inbox. A message says what happened to the
request and when, never what the record holds (no stay, unit, diagnosis or report is named).
"""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from dmp.constants import NotificationKind
from dmp.models import SharedRecord
from dmp.services.notifications import notify
from records import access as records_access

from ..constants import RequesterKind
from ..models import RecordRequest

# The steps a message exists for (H-bundle's tasks tell "available", "sent" and "expired").
RECEIVED = "received"
VALIDATED = "validated"
REFUSED = "refused"
AVAILABLE = "available"
SENT = "sent"
DOWNLOADED = "downloaded"
EXPIRED = "expired"
STEPS = (RECEIVED, VALIDATED, REFUSED, AVAILABLE, SENT, DOWNLOADED, EXPIRED)


def _day(value) -> str:
    return formats.date_format(value, "j F Y")


def _moment(value) -> str:
    return formats.date_format(timezone.localtime(value), "j F Y à H:i")


def _what(request: RecordRequest, step: str) -> str:
    """What happened, said to the requester about "votre demande"."""
    if step == RECEIVED:
        return _(
            "Votre demande de copie du dossier du CHU a été reçue le %(received)s. La réponse vous parviendra au plus "
            "tard le %(due)s, et pas avant le %(earliest)s (délai de réflexion de 48 heures)."
        ) % {
            "received": _day(timezone.localdate(request.received_at)),
            "due": _day(request.due_on),
            "earliest": _moment(request.earliest_release_at),
        }
    if step == VALIDATED:
        return _("Votre demande de copie du dossier du CHU a été validée : la copie est en préparation.")
    if step == REFUSED:
        return _("Votre demande de copie du dossier du CHU a été refusée : %(reason)s.") % {
            "reason": request.get_refusal_reason_display().lower()
        }
    if step == AVAILABLE:
        message = _("La copie de votre dossier du CHU est mise à disposition dans le portail.")
        bundle = getattr(request, "bundle", None)
        if bundle is not None and bundle.expires_at:
            message += " " + _("Vous pouvez la télécharger jusqu'au %(until)s.") % {
                "until": _day(timezone.localdate(bundle.expires_at))
            }
        return message
    if step == SENT:
        return _("La copie de votre dossier du CHU a été envoyée au médecin que vous avez désigné.")
    if step == DOWNLOADED:
        return _("La copie de votre dossier du CHU a été téléchargée.")
    if step == EXPIRED:
        return _("La copie de votre dossier du CHU n'est plus disponible : vous pouvez en demander une nouvelle.")
    raise ValueError(f"unknown step {step!r}")


def _about_someone_else(request: RecordRequest, step: str) -> str:
    """The same, told to the representative about the person she represents."""
    return _("Pour %(name)s : %(what)s") % {"name": request.patient.display_name, "what": _what(request, step)}


def _told_to_the_patient(request: RecordRequest, step: str) -> str:
    """Told to the adult patient when someone else asked for her record."""
    return _("Une demande de copie de votre dossier du CHU a été faite par %(who)s. %(what)s") % {
        "who": request.requested_by.display_name,
        "what": _what(request, step).replace(_("Votre demande"), _("Cette demande"), 1),
    }


def _shared_record(request: RecordRequest) -> SharedRecord | None:
    """The patient's DMP if she has one: the message then shows in the space of whoever acts for her."""
    return SharedRecord.objects.filter(patient=request.patient_id).first()


def tell(request: RecordRequest, step: str, *, actor=None) -> None:
    """Tell the requester, and the adult patient if someone else asked, that `step` happened (inside the step's
    transaction: the message is sent with it or not at all). Nobody is told of his own download."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}")
    if request.requester_kind == RequesterKind.HEIR:
        return  # answered on paper by the office; the named doctor finds the copy in his secure inbox
    record = _shared_record(request)
    email = bool(record and record.notify_by_email)
    requester = request.requested_by
    if not (step == DOWNLOADED and actor is not None and actor.pk == requester.pk):
        if request.requester_kind == RequesterKind.REPRESENTATIVE:
            message = _about_someone_else(request, step)
        else:
            message = _what(request, step)
        notify(recipient=requester, kind=NotificationKind.RECORD_REQUEST, message=message, record=record, email=email)
    patient_account = request.patient.account
    if (
        request.requester_kind == RequesterKind.REPRESENTATIVE
        and patient_account is not None
        and patient_account.pk != requester.pk
        and not records_access.is_minor(request.patient)
        and not (step == DOWNLOADED and actor is not None and actor.pk == patient_account.pk)
    ):
        notify(
            recipient=patient_account,
            kind=NotificationKind.RECORD_REQUEST,
            message=_told_to_the_patient(request, step),
            record=record,
            email=email,
        )


def tell_named_doctor(request: RecordRequest) -> None:
    """The named doctor is told that a copy waits in his secure inbox (no patient named, no content)."""
    if request.named_doctor_id is None:
        return
    notify(
        recipient=request.named_doctor,
        kind=NotificationKind.RECORD_REQUEST,
        message=_("Une copie de dossier du CHU vous a été adressée dans votre messagerie sécurisée."),
        may_be_blocked=False,
    )
