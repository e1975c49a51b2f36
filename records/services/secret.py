"""The minor's secret on a stay (CSP L.1111-5, R.1111-50): kept from her legal representatives at her request."""

from __future__ import annotations

from django.db import transaction

from audit import services as audit
from audit.constants import ObjectType
from chu_portal.errors import Conflict

from .. import access
from ..constants import CareAction
from ..models import Stay
from ..signals import stay_secret_changed
from .base import refuse, stay_by_id


def stay_secret_set(*, actor, stay_id, secret: bool) -> Stay:
    """Keep a minor's stay secret from her legal representatives (`secret` True), or lift the secret (False).

    Decided by a doctor or midwife of her care team at her request (records.access.decide_stay_secret); traced.
    A secret stay is never offered to, nor copied for, her representatives, and the DMP flags the documents
    already fed from its reports in the same transaction (records.signals.stay_secret_changed). Setting the
    state the stay already has changes nothing and writes no trace.
    """
    stay = stay_by_id(stay_id)
    action = CareAction.MINOR_SECRET if secret else CareAction.MINOR_SECRET_LIFT
    decision = access.decide_stay_secret(actor, stay)
    if not decision.allowed:
        if decision.code == "conflict":
            raise Conflict(decision.message)
        refuse(actor, action, decision, patient=stay.patient, object_type=ObjectType.STAY, object_id=stay.public_id)
    with transaction.atomic():
        # The lock orders this change with the feed's filing of the stay's reports (dmp/feed/delivery.py
        # reads the flag under a share lock): a report is filed either after this commits, with the new flag,
        # or before, and then it is flagged below.
        locked = Stay.objects.select_for_update().select_related("patient").get(pk=stay.pk)
        if locked.secret_from_representatives == bool(secret):
            return locked
        locked.secret_from_representatives = bool(secret)
        locked.save(update_fields=["secret_from_representatives"])
        audit.record(
            actor=actor,
            action=action,
            mode=decision.mode,
            patient_id=locked.patient.public_id,
            object_type=ObjectType.STAY,
            object_id=locked.public_id,
        )
        stay_secret_changed.send(sender=Stay, stay=locked, actor=actor)
    return locked
