"""Identity-vigilance incidents (a report filed in the wrong patient's DMP, then withdrawn): the DPO's list.

The incidents are written by the DMP's withdrawal (dmp/services/withdrawal.py); this module only reads them,
for the data-protection officer (audit.access.may_review), with one trace naming the incidents shown.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from audit import services as audit
from audit.access import may_review
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import Decision

from ..models import IdentityIncident

PAGE_SIZE = 100


def identity_incidents(*, actor, limit: int = PAGE_SIZE) -> list[IdentityIncident]:
    """The latest identity-vigilance incidents, newest first (the DPO only; anyone else is refused, traced)."""
    if not may_review(actor):
        audit.refuse(
            actor=actor,
            action=Action.LIST,
            decision=Decision.deny(
                "forbidden",
                _("Les incidents d'identitovigilance sont réservés au délégué à la protection des données."),
            ),
            object_type=ObjectType.IDENTITY_INCIDENT,
        )
    queryset = IdentityIncident.objects.select_related("patient", "report", "reported_by").order_by(
        "-created_at", "-id"
    )
    return audit.list_traced(
        actor=actor,
        mode=Mode.DPO_REVIEW,
        object_type=ObjectType.IDENTITY_INCIDENT,
        load=lambda: list(queryset[:limit]),
        shown=lambda rows: [i.public_id for i in rows],
    )
