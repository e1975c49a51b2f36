"""Telling the requester (and the medical records office) of each step of a request for a copy of the record.

Minimal version written by H-bundle while H-core's (branch rr-core) is not there: H-core's file wins on merge,
provided it keeps `tell(request, message)` and `tell_office(message)`.
"""

from __future__ import annotations

from django.conf import settings

from accounts.models import User
from dmp.constants import NotificationKind
from dmp.services.notifications import notify

from ..constants import RequesterKind
from ..models import RecordRequest


def tell(request: RecordRequest, message: str) -> None:
    """Tell the one who asked online (the patient or her representative); an heir's paper file is answered by post."""
    if request.requester_kind == RequesterKind.HEIR:
        return
    notify(recipient=request.requested_by, kind=NotificationKind.RECORD_REQUEST, message=message, may_be_blocked=False)


def tell_office(message: str) -> None:
    """Tell every member of the medical records office (no medical content: the request is named by its date)."""
    staff = User.objects.filter(
        professional_profile__units__code=settings.RECORDS_OFFICE_UNIT_CODE, is_active=True
    ).distinct()
    for user in staff:
        notify(recipient=user, kind=NotificationKind.RECORD_REQUEST, message=message, may_be_blocked=False)
