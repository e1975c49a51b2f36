"""Representatives (issue 21): a parent acts for her child on his DMP, never sees what the minor keeps secret
(CSP L.1111-5, R.1111-50), and loses access on his 18th birthday; a trusted representative only reads."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.constants import Mode
from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, InvalidInput
from dmp import access
from dmp.services import documents, history, majority, notifications, records
from fhir import services as fhir_services
from records.constants import RepresentationKind
from records.models import Representation
from records.services import representatives
from tests.dmp.conftest import MINIMAL_PDF, upload
from tests.factories import PatientFactory, UserFactory


def _fifteen_years_ago() -> datetime.date:
    today = timezone.localdate()
    return today.replace(year=today.year - 15) - datetime.timedelta(days=40)


@pytest.fixture
def lucas(db):
    account = UserFactory(role=Role.PATIENT, username="lucas.martin", first_name="Lucas", last_name="Martin")
    return PatientFactory(
        birth_name="MARTIN", first_names="Lucas", sex="M", birth_date=_fifteen_years_ago(), account=account
    )


@pytest.fixture
def lucas_dmp(lucas):
    return records.shared_record_for(lucas)


@pytest.fixture
def mother(camille, lucas, inf_roux):
    """Camille recorded at the admission desk as Lucas's mother (identity and parental authority checked)."""
    return representatives.representation_record(
        actor=inf_roux,
        patient_id=lucas.public_id,
        representative=camille.account.username,
        kind=RepresentationKind.PARENT,
        relation="mère",
        identity_checked=True,
    )


def _file(actor, record, title, *, secret=False):
    return documents.document_upload(
        actor=actor,
        record=record,
        uploaded=upload("doc.pdf", MINIMAL_PDF),
        title=title,
        type_code="11488-4",
        secret_from_representatives=secret,
    )


@pytest.fixture
def lucas_documents(lucas_dmp, dr_moreau, mother):
    ordinary = _file(dr_moreau, lucas_dmp, "Certificat de vaccination")
    secret = _file(dr_moreau, lucas_dmp, "Consultation confidentielle", secret=True)
    return ordinary, secret


def test_the_desk_records_a_parent_until_majority_traced(lucas, mother, inf_roux):
    assert mother.kind == RepresentationKind.PARENT
    assert timezone.localtime(mother.ends).date() == lucas.birth_date.replace(year=lucas.birth_date.year + 18)
    trace = AuditEvent.objects.get(action="representation_record")
    assert trace.actor_id == inf_roux.public_id and trace.patient_id == lucas.public_id


def test_only_staff_record_a_parent_after_checking_identity(camille, lucas, other_patient, inf_roux):
    with pytest.raises(AccessDenied) as refused:
        representatives.representation_record(
            actor=other_patient.account,
            patient_id=lucas.public_id,
            representative=camille.account.username,
            kind=RepresentationKind.PARENT,
            identity_checked=True,
        )
    assert refused.value.decision.status == 404
    with pytest.raises(InvalidInput):
        representatives.representation_record(
            actor=inf_roux,
            patient_id=lucas.public_id,
            representative=camille.account.username,
            kind=RepresentationKind.PARENT,
        )
    with pytest.raises(AccessDenied) as adult:
        representatives.representation_record(
            actor=inf_roux,
            patient_id=camille.public_id,
            representative=other_patient.account.username,
            kind=RepresentationKind.PARENT,
            identity_checked=True,
        )
    assert adult.value.decision.status == 409


def test_the_parent_acts_as_the_patient_but_never_sees_the_secret(camille, lucas, lucas_dmp, lucas_documents):
    ordinary, secret = lucas_documents
    decision = access.record_decision(camille.account, lucas_dmp)
    assert decision.allowed and decision.mode == Mode.REPRESENTATIVE
    page = documents.documents_list(actor=camille.account, patient_id=lucas.public_id)
    assert [d.pk for d in page.documents] == [ordinary.pk] and page.total == 1
    for include in (True, False):
        listed = documents.documents_list(actor=camille.account, patient_id=lucas.public_id, include_superseded=include)
        assert secret.pk not in {d.pk for d in listed.documents}
    for read in (documents.document_open, documents.document_content):
        with pytest.raises(AccessDenied) as refused:
            read(actor=camille.account, document_id=secret.public_id)
        assert refused.value.decision.status == 404
    fhir_page, _stays = fhir_services.document_search(
        actor=camille.account, patient_id=lucas.public_id, current_only=True, page=1, page_size=50
    )
    assert secret.pk not in {d.pk for d in fhir_page.documents}
    # Lucas himself sees both.
    own = documents.documents_list(actor=lucas.account, patient_id=lucas.public_id)
    assert {d.pk for d in own.documents} == {ordinary.pk, secret.pk}


def test_no_notification_or_history_line_about_the_secret_reaches_the_parent(
    camille, lucas, lucas_dmp, lucas_documents, dr_moreau
):
    ordinary, secret = lucas_documents
    documents.document_open(actor=dr_moreau, document_id=secret.public_id)  # the author reads it again
    inbox = notifications.notifications_page(actor=camille.account, patient_id=lucas.public_id)
    assert [n.document_id for n in inbox.items] == [ordinary.pk]
    assert all("confidentielle" not in n.message for n in inbox.items)
    # Said as about her son, not "votre DMP" as if it were hers; Lucas reads it as his.
    assert [n.message for n in inbox.items] == [
        f"Pour {lucas.display_name} : Nouveau document dans votre DMP : Certificat de vaccination"
    ]
    assert not lucas.account.notifications.filter(message__startswith="Pour ").exists()
    # Her own space does not show her son's messages.
    assert notifications.notifications_page(actor=camille.account).total == 0
    # Lucas is told of both.
    assert {n.document_id for n in notifications.notifications_page(actor=lucas.account).items} == {
        ordinary.pk,
        secret.pk,
    }
    page = history.access_history(actor=camille.account, patient_id=lucas.public_id)
    ids = {str(i) for e in page.events for i in [e.object_id, *(e.object_ids or [])]}
    assert str(secret.public_id) not in ids
    assert str(ordinary.public_id) in ids
    sentences = " ".join(entry.sentence for day in page.days for entry in day.entries)
    assert "confidentielle" not in sentences
    lucas_page = history.access_history(actor=lucas.account)
    assert str(secret.public_id) in {str(e.object_id) for e in lucas_page.events}


def test_the_parent_masks_for_him_and_the_history_names_her_and_her_tie(camille, lucas, lucas_documents):
    ordinary, _secret = lucas_documents
    documents.document_mask(actor=camille.account, document_id=ordinary.public_id)
    trace = AuditEvent.objects.get(action="mask")
    assert (trace.actor_id, trace.patient_id, trace.mode) == (
        camille.account.public_id,
        lucas.public_id,
        Mode.REPRESENTATIVE,
    )
    page = history.access_history(actor=lucas.account)
    whos = [(entry.who, entry.sentence) for day in page.days for entry in day.entries]
    assert any(who.endswith("(mère)") and "masqué" in sentence for who, sentence in whos), whos


def test_a_secret_is_for_minors_and_set_by_professionals(camille, camille_dmp, lucas, lucas_dmp, dr_moreau, mother):
    with pytest.raises(InvalidInput):
        _file(dr_moreau, camille_dmp, "Adulte", secret=True)
    with pytest.raises(InvalidInput):
        documents.document_upload(
            actor=camille.account,
            record=lucas_dmp,
            uploaded=upload("doc.pdf", MINIMAL_PDF),
            title="Par la mère",
            secret_from_representatives=True,
        )


def test_on_his_18th_birthday_the_parent_loses_access_and_the_secret_is_his(
    camille, lucas, lucas_dmp, lucas_documents, mother
):
    ordinary, secret = lucas_documents
    birthday = representatives.majority_moment(lucas)
    with mock.patch("django.utils.timezone.now", return_value=birthday - datetime.timedelta(seconds=1)):
        assert access.record_decision(camille.account, lucas_dmp).allowed
    with mock.patch("django.utils.timezone.now", return_value=birthday):
        refused = access.record_decision(camille.account, lucas_dmp)
        assert not refused.allowed and refused.status == 404
        with pytest.raises(AccessDenied):
            documents.documents_list(actor=camille.account, patient_id=lucas.public_id)
        with pytest.raises(AccessDenied):
            documents.document_open(actor=camille.account, document_id=ordinary.public_id)
        assert notifications.notifications_page(actor=camille.account, patient_id=lucas.public_id).total == 0
        assert majority.representations_end_due() == 1
        assert majority.representations_end_due() == 0  # idempotent
        own = documents.documents_list(actor=lucas.account, patient_id=lucas.public_id)
        assert {d.pk for d in own.documents} == {ordinary.pk, secret.pk}
    mother.refresh_from_db()
    assert mother.ended_at == birthday
    trace = AuditEvent.objects.get(action="representation_majority")
    assert trace.actor_id is None and trace.patient_id == lucas.public_id
    assert lucas.account.notifications.filter(message__contains="18 ans").exists()


def test_a_trusted_representative_only_reads_and_the_patient_revokes_her(
    camille, camille_dmp, fed_letter, other_patient
):
    trusted = representatives.trusted_representative_name(
        actor=camille.account, representative=other_patient.account.username
    )
    reader = other_patient.account
    assert access.record_decision(reader, camille_dmp).mode == Mode.TRUSTED_REPRESENTATIVE
    page = documents.documents_list(actor=reader, patient_id=camille.public_id)
    assert [d.pk for d in page.documents] == [fed_letter.pk]
    with pytest.raises(AccessDenied):
        documents.document_mask(actor=reader, document_id=fed_letter.public_id)
    with pytest.raises(AccessDenied):
        documents.document_upload(actor=reader, record=camille_dmp, uploaded=upload("doc.pdf", MINIMAL_PDF), title="x")
    representatives.representation_end(actor=camille.account, representation_id=trusted.public_id)
    assert not access.record_decision(reader, camille_dmp).allowed
    assert Representation.objects.get(pk=trusted.pk).ended_by == camille.account


def test_the_api_lists_representations_and_serves_the_represented_dmp(api, camille, lucas, lucas_documents):
    ordinary, secret = lucas_documents
    client = api.as_user(camille.account)
    me = client.get("/api/v1/me/").json()
    assert [r["patient_id"] for r in me["representations"]] == [str(lucas.public_id)]
    assert me["representations"][0]["read_only"] is False
    listed = client.get(f"/api/v1/dmp/{lucas.public_id}/documents/").json()
    assert [d["id"] for d in listed["results"]] == [str(ordinary.public_id)]
    assert listed["count"] == 1
    assert client.get(f"/api/v1/dmp/documents/{secret.public_id}/").status_code == 404
    assert client.get(f"/api/v1/dmp/documents/{secret.public_id}/content/").status_code == 404
    inbox = client.get("/api/v1/notifications/", {"patient": str(lucas.public_id)}).json()
    assert "confidentielle" not in str(inbox) and inbox["count"] == 1
    fhir = client.get("/fhir/DocumentReference", {"patient": str(lucas.public_id)})
    assert fhir.status_code == 200 and str(secret.public_id) not in fhir.content.decode()
    assert str(ordinary.public_id) in fhir.content.decode()


def test_pages_follow_the_chosen_person_with_a_banner(client, camille, camille_dmp, lucas, lucas_documents):
    ordinary, secret = lucas_documents
    client.force_login(camille.account)
    own = client.get("/dmp/")
    assert "Certificat de vaccination" not in own.content.decode()
    assert "votre propre espace" in own.content.decode()
    client.post("/dmp/dossier-ouvert/", {"patient": str(lucas.public_id)})
    page = client.get("/dmp/").content.decode()
    assert "Certificat de vaccination" in page and "Consultation confidentielle" not in page
    assert lucas.display_name in page and 'id="acting-banner"' in page
    for url in ("/dmp/notifications/", "/dmp/historique-des-acces/", "/dmp/autorisations/"):
        body = client.get(url).content.decode()
        assert "confidentielle" not in body, url
    client.post("/dmp/dossier-ouvert/", {"patient": ""})
    assert "Certificat de vaccination" not in client.get("/dmp/").content.decode()


def test_the_desk_page_records_a_parent_and_the_patient_page_names_a_trusted_one(
    client, camille, lucas, other_patient, inf_roux
):
    client.force_login(inf_roux)
    url = f"/patients/{lucas.public_id}/representants/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"representative": camille.account.username, "kind": "parent", "relation": "mère", "identity_checked": "on"},
    )
    assert response.status_code == 302
    assert "MARTIN" in client.get(url).content.decode() or "Martin" in client.get(url).content.decode()
    assert Representation.objects.get(patient=lucas).relation == "mère"
    client.force_login(camille.account)
    assert client.get(url).status_code == 404  # a patient does not read someone else's list
    response = client.post("/mes-representants/", {"representative": other_patient.account.username})
    assert response.status_code == 302
    trusted = Representation.objects.get(patient=camille)
    assert trusted.kind == RepresentationKind.TRUSTED
    client.post(f"/representations/{trusted.public_id}/fin/")
    trusted.refresh_from_db()
    assert trusted.ended_at is not None


def test_a_closed_dmp_is_closed_to_the_representative_who_may_reopen_it(lucas, lucas_dmp, lucas_documents, camille):
    """Issue 19 with issue 21: closing closes the DMP to its holder's representatives too; a parent, who holds the
    patient's rights, reopens it from the settings and reads it again (the secret document still hidden)."""
    from dmp.constants import RecordStatus
    from dmp.services import record_settings

    ordinary, _secret = lucas_documents
    record_settings.record_settings_update(
        actor=camille.account, patient_id=lucas.public_id, status=RecordStatus.CLOSED
    )
    assert type(lucas_dmp).objects.get(pk=lucas_dmp.pk).status == RecordStatus.CLOSED
    with pytest.raises(AccessDenied) as refused:
        documents.documents_list(actor=camille.account, patient_id=lucas.public_id)
    assert refused.value.code == "dmp_closed"
    with pytest.raises(AccessDenied) as refused:
        history.access_history(actor=camille.account, patient_id=lucas.public_id)
    assert refused.value.code == "dmp_closed"
    # Her own DMP is untouched by what she did for him.
    assert records.own_record(camille.account).status == RecordStatus.ACTIVE
    record_settings.record_settings_update(
        actor=camille.account, patient_id=lucas.public_id, status=RecordStatus.ACTIVE
    )
    page = documents.documents_list(actor=camille.account, patient_id=lucas.public_id)
    assert [d.public_id for d in page.documents] == [ordinary.public_id]


def test_the_pending_requests_badge_counts_the_record_open_now(
    client, camille, camille_dmp, lucas_dmp, mother, dr_garnier
):
    """The "Autorisations" badge counts the pending requests of the DMP she has open: her son's while she acts for
    him, her own otherwise (never her own requests shown as his, nor his as hers)."""
    from dmp.consent import requests as consent_requests

    consent_requests.consent_request_create(actor=dr_garnier, record=lucas_dmp, purpose="Suivi")
    client.force_login(camille.account)
    assert client.get("/dmp/").context["dmp_pending_requests"] == 0
    client.post("/dmp/dossier-ouvert/", {"patient": str(lucas_dmp.patient.public_id)})
    assert client.get("/dmp/").context["dmp_pending_requests"] == 1
