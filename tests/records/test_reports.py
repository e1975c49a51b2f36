"""Reports: written by the care team's doctors, signed by their author, immutable once signed, amended by a new version."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict, InvalidInput
from records.constants import ReportStatus, ReportType
from records.models import Report, SignedReportIsImmutable
from records.services import reports
from records.signals import report_signed


def test_a_care_team_doctor_writes_and_signs_a_report(dr_bernard, camille_stay):
    draft = reports.report_create_draft(
        actor=dr_bernard,
        stay_id=camille_stay.public_id,
        type_code=ReportType.IMAGING_REPORT,
        title="ETT",
        body="FEVG 60 %",
    )
    assert draft.status == ReportStatus.DRAFT
    signed = reports.report_sign(actor=dr_bernard, report_id=draft.public_id)
    assert signed.status == ReportStatus.SIGNED and signed.signed_at is not None
    assert list(
        AuditEvent.objects.filter(object_id=str(draft.public_id)).values_list("action", flat=True).order_by("id")
    ) == ["create", "sign"]


def test_signing_announces_the_report_inside_the_transaction(dr_bernard, draft_report):
    received = []

    def receiver(sender, report, **kwargs):
        received.append((report.public_id, connection.in_atomic_block))

    report_signed.connect(receiver)
    try:
        reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)
    finally:
        report_signed.disconnect(receiver)
    assert received == [(draft_report.public_id, True)]


def test_a_signed_report_cannot_be_edited_through_the_service(dr_bernard, discharge_letter):
    with pytest.raises(AccessDenied) as refused:
        reports.report_update_draft(actor=dr_bernard, report_id=discharge_letter.public_id, title="x", body="changed")
    assert refused.value.status == 409
    discharge_letter.refresh_from_db()
    assert discharge_letter.body != "changed"


def test_a_signed_report_cannot_be_edited_through_the_model(discharge_letter):
    discharge_letter.body = "changed"
    with pytest.raises(SignedReportIsImmutable):
        discharge_letter.save()


def test_the_database_refuses_to_change_a_signed_report(discharge_letter):
    with pytest.raises(DatabaseError), transaction.atomic():
        Report.objects.filter(pk=discharge_letter.pk).update(body="changed behind the application's back")
    with pytest.raises(DatabaseError), transaction.atomic():
        Report.objects.filter(pk=discharge_letter.pk).delete()


def test_signing_twice_is_a_conflict(dr_bernard, discharge_letter):
    with pytest.raises(AccessDenied) as refused:
        reports.report_sign(actor=dr_bernard, report_id=discharge_letter.public_id)
    assert refused.value.code == "conflict"


def test_only_the_author_signs(inf_roux, camille_stay, dr_bernard, cardiology):
    from tests.factories import professional

    colleague = professional(units=[cardiology])
    draft = reports.report_create_draft(
        actor=colleague,
        stay_id=camille_stay.public_id,
        type_code=ReportType.DISCHARGE_LETTER,
        title="Lettre",
        body="Texte",
    )
    with pytest.raises(AccessDenied) as refused:
        reports.report_sign(actor=dr_bernard, report_id=draft.public_id)
    assert refused.value.status == 404  # someone else's draft is not revealed
    draft.refresh_from_db()
    assert draft.status == ReportStatus.DRAFT


def test_collaborators_do_not_author_reports(inf_roux, camille_stay):
    with pytest.raises(AccessDenied):
        reports.report_create_draft(
            actor=inf_roux, stay_id=camille_stay.public_id, type_code=ReportType.DISCHARGE_LETTER, title="L", body="T"
        )
    assert not Report.objects.exists()


def test_an_outsider_cannot_write_in_the_record(dr_leroy, camille_stay):
    with pytest.raises(AccessDenied):
        reports.report_create_draft(
            actor=dr_leroy, stay_id=camille_stay.public_id, type_code=ReportType.DISCHARGE_LETTER, title="L", body="T"
        )
    assert AuditEvent.objects.filter(actor_username="dr.leroy", outcome="denied", action="create").exists()


def test_an_empty_body_is_refused_and_nothing_is_written(dr_bernard, camille_stay):
    with pytest.raises(InvalidInput):
        reports.report_create_draft(
            actor=dr_bernard,
            stay_id=camille_stay.public_id,
            type_code=ReportType.DISCHARGE_LETTER,
            title="Lettre",
            body="  ",
        )
    assert not Report.objects.exists()
    assert not AuditEvent.objects.filter(action="create").exists()


def test_an_amendment_is_a_new_version_that_replaces_the_signed_one(dr_bernard, discharge_letter):
    amendment = reports.report_amend(actor=dr_bernard, report_id=discharge_letter.public_id, title=None, body="Corrigé")
    assert (amendment.version, amendment.replaces_id, amendment.status) == (2, discharge_letter.pk, ReportStatus.DRAFT)
    reports.report_sign(actor=dr_bernard, report_id=amendment.public_id)
    old, _ = reports.report_open(actor=dr_bernard, report_id=discharge_letter.public_id)
    assert old.superseded
    assert old.body != "Corrigé"  # the signed version is untouched


def test_a_version_is_amended_only_once(dr_bernard, discharge_letter):
    reports.report_amend(actor=dr_bernard, report_id=discharge_letter.public_id, title=None, body="v2")
    with pytest.raises(Conflict):
        reports.report_amend(actor=dr_bernard, report_id=discharge_letter.public_id, title=None, body="another v2")
    assert Report.objects.filter(replaces=discharge_letter).count() == 1


def test_a_draft_is_not_amended_but_edited(dr_bernard, draft_report):
    with pytest.raises(AccessDenied) as refused:
        reports.report_amend(actor=dr_bernard, report_id=draft_report.public_id, title=None, body="v2")
    assert refused.value.code == "conflict"


def test_the_report_pages_write_sign_and_amend(client, dr_bernard, camille_stay):
    client.force_login(dr_bernard)
    response = client.post(
        reverse("records:report_create", args=[camille_stay.public_id]),
        {"type_code": ReportType.OPERATIVE_REPORT, "title": "Ablation", "body": "Ablation par radiofréquence."},
    )
    report = Report.objects.get()
    assert response["Location"] == reverse("records:report_detail", args=[report.public_id])
    client.post(reverse("records:report_sign", args=[report.public_id]))
    report.refresh_from_db()
    assert report.is_signed
    page = client.get(reverse("records:report_detail", args=[report.public_id])).content.decode()
    assert "Ablation par radiofréquence." in page
    assert reverse("records:report_amend", args=[report.public_id]) in page
    client.post(reverse("records:report_amend", args=[report.public_id]), {"title": "Ablation", "body": "Complété."})
    assert Report.objects.get(replaces=report).version == 2


def test_the_form_page_says_what_is_wrong_in_french(client, dr_bernard, camille_stay):
    client.force_login(dr_bernard)
    response = client.post(
        reverse("records:report_create", args=[camille_stay.public_id]),
        {"type_code": ReportType.OPERATIVE_REPORT, "title": "", "body": ""},
    )
    assert response.status_code == 200
    assert "Ce champ est obligatoire." in response.content.decode()
    assert not Report.objects.exists()


def test_a_refused_report_is_traced_after_its_read_transaction(dr_leroy, discharge_letter):
    with pytest.raises(AccessDenied):
        reports.report_open(actor=dr_leroy, report_id=discharge_letter.public_id)
    refusal = AuditEvent.objects.get(object_id=str(discharge_letter.public_id))
    assert refusal.outcome == "denied" and refusal.actor_username == dr_leroy.username
