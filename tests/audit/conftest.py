"""Helpers of the audit tests: traces written directly with chosen times, as the services write them."""

import datetime
import uuid
import zoneinfo

import pytest
from django.conf import settings

from audit.models import AuditEvent


def local(year, month, day, hour, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


# A Tuesday at 10:00 local time: inside working hours.
WORKDAY_MORNING = local(2026, 3, 10, 10)


@pytest.fixture
def make_trace(db):
    def make(**fields):
        defaults = {
            "at": WORKDAY_MORNING,
            "actor_id": uuid.uuid4(),
            "actor_username": "someone",
            "actor_name": "Someone",
            "actor_role": "chu_clinician",
            "patient_id": uuid.uuid4(),
            "action": "read",
            "object_type": "hospital_record",
            "outcome": "allowed",
            "mode": "care_team",
        }
        defaults.update(fields)
        if defaults["mode"] in ("emergency", "samu") and "flagged" not in fields:
            defaults["flagged"] = True
            defaults["flag_reason"] = {"emergency": "emergency_access", "samu": "samu_access"}[defaults["mode"]]
        event = AuditEvent(**defaults)
        event.save()
        return event

    return make


def seal_all(timeout: float = 30.0) -> int:
    """Seal every committed trace. The horizon is the cluster-wide oldest running transaction, and
    the test PostgreSQL is shared with other test runs: wait for their older transactions to end."""
    import time

    from audit import integrity

    sealed, deadline = 0, time.monotonic() + timeout
    while True:
        sealed += integrity.seal_pending()
        if not integrity.verify(seal_first=False).unsealed or time.monotonic() > deadline:
            return sealed
        time.sleep(0.2)
