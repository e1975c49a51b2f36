"""Representations that end by themselves: a parent's at the patient's 18th birthday, a guardian's at the court
decision's end (docs/domain.md, "Representatives"). Run daily; the young adult is invited to activate her space.

Access already stopped at the recorded end (checked in SQL at every decision); this writes it down (traced,
system actor) and tells the people concerned. The documents kept secret from the representatives need no
change: they were always the patient's own, and she sees them like the others.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from records.services import representatives

from ..constants import NotificationKind
from . import notifications


def representations_end_due(now=None) -> int:
    """Close the representations past their end, each traced; tell the young adult and the former representative."""
    ended = representatives.representations_end_due(now)
    invited = set()
    for item in ended:
        representation = item.representation
        with transaction.atomic():
            notifications.notify(
                recipient=representation.representative,
                kind=NotificationKind.SETTINGS,
                message=(
                    _("%(name)s est majeur(e) : vous n'avez plus accès à son DMP.")
                    if item.at_majority
                    else _("Votre représentation de %(name)s a pris fin à la date enregistrée.")
                )
                % {"name": representation.patient.display_name},
                may_be_blocked=False,
            )
            account = representation.patient.account
            if item.at_majority and account is not None and representation.patient_id not in invited:
                invited.add(representation.patient_id)
                notifications.notify(
                    recipient=account,
                    kind=NotificationKind.SETTINGS,
                    message=_(
                        "Vous avez 18 ans : votre DMP est désormais le vôtre seul, vos parents n'y ont plus accès. "
                        "Activez votre espace (ou connectez-vous) pour le consulter et décider qui le voit."
                    ),
                    email=True,
                    may_be_blocked=False,
                )
    return len(ended)
