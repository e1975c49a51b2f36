"""The record page costs the same number of queries whatever the number of stays and reports."""

import datetime

from django.urls import reverse
from django.utils import timezone

from tests.factories import DiagnosisFactory, ProcedureFactory, ReportFactory, StayFactory


def add_stays(patient, unit, author, count):
    for i in range(count):
        stay = StayFactory(
            patient=patient,
            unit=unit,
            admitted_at=timezone.now() - datetime.timedelta(days=20 + i),
            discharged_at=timezone.now() - datetime.timedelta(days=2),
        )
        DiagnosisFactory(stay=stay, principal=True)
        DiagnosisFactory(stay=stay, code="I10", label="Hypertension essentielle")
        ProcedureFactory(stay=stay)
        ReportFactory(stay=stay, author=author)
        ReportFactory(stay=stay, author=author, title="Imagerie", type_code="18748-4")


def count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm up: the first request of a session also refreshes its idle expiry
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_record_page_queries_do_not_grow_with_stays_and_reports(client, dr_bernard, camille, cardiology):
    client.force_login(dr_bernard)
    url = reverse("records:patient_record", args=[camille.public_id])
    add_stays(camille, cardiology, dr_bernard, 2)
    small = count_queries(client, url)
    add_stays(camille, cardiology, dr_bernard, 30)
    large = count_queries(client, url)
    assert large == small


def test_record_api_queries_do_not_grow_with_stays_and_reports(api, dr_bernard, camille, cardiology):
    api.as_user(dr_bernard)
    url = f"/api/v1/patients/{camille.public_id}/record/"
    add_stays(camille, cardiology, dr_bernard, 2)
    small = count_queries(api, url)
    add_stays(camille, cardiology, dr_bernard, 30)
    large = count_queries(api, url)
    assert large == small
