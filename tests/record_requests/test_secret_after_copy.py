"""A copy made for a minor's representative, then one of its stays kept secret (CSP L.1111-5): read by nobody since,
said as an expired copy (the rules machine's counter-example, tests/rules/test_rules_machine.py)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from chu_portal.errors import AccessDenied
from record_requests.constants import Delivery
from record_requests.models import RecordRequest
from record_requests.services import bundle as bundle_service
from record_requests.services import delivery, office, requests
from records.services import secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def released_copy(camille, lucas, lucas_stays, mother, office_doctor):
    """Camille's copy of Lucas's record (the stays offered to her), made and released after the 48 hours."""
    made = requests.request_create(actor=camille.account, patient_id=lucas.public_id, delivery=Delivery.DOWNLOAD)
    office.request_validate(actor=office_doctor, request_id=made.public_id)
    bundle_service.bundle_make(made.pk)
    now = timezone.now()
    RecordRequest.objects.filter(pk=made.pk).update(
        received_at=now - datetime.timedelta(hours=49), earliest_release_at=now - datetime.timedelta(hours=1)
    )
    bundle_service.release_due()
    return made


def _download(actor, made):
    bundle, handle = delivery.bundle_download(actor=actor, request_id=made.public_id)
    handle.close()
    return bundle


def test_a_stay_kept_secret_after_the_copy_closes_it_to_the_representative(
    camille, lucas_stays, dr_bernard, released_copy
):
    ordinary, _secret = lucas_stays
    assert _download(camille.account, released_copy).contents["stays"] == [str(ordinary.public_id)]
    secret.stay_secret_set(actor=dr_bernard, stay_id=ordinary.public_id, secret=True)
    with pytest.raises(AccessDenied) as refused:
        _download(camille.account, released_copy)
    assert refused.value.decision.status == 410 and "secret" not in refused.value.decision.message
    # Lifted at the minor's request: the copy is hers to read again.
    secret.stay_secret_set(actor=dr_bernard, stay_id=ordinary.public_id, secret=False)
    assert _download(camille.account, released_copy)
