"""No leak, by construction: every URL pattern, for every role, on a patient they may not see.

The registry below classifies every URL pattern of the project. A pattern it does not know
fails `test_every_url_pattern_is_classified` until someone decides how it must be probed.
The victim's medical data carries canary strings; no response to anyone who may not see
her may contain one. Identity search by CHU staff and the DPO's reading of traces are
allowed by design (identities and traces carry no canary).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.models import ApiToken, Profession, Role
from dmp.consent import grants, requests
from dmp.services import documents as documents_service
from dmp.services import profile, records
from records.constants import ReportType
from records.services import care, reports
from tests.conftest import VerifiedClient
from tests.dmp.conftest import MINIMAL_PDF
from tests.factories import (
    DiagnosisFactory,
    PatientFactory,
    ProcedureFactory,
    ReportFactory,
    StayFactory,
    UnitFactory,
    UserFactory,
    designate_gp,
    professional,
)

CANARY = "CANARY" + uuid.uuid4().hex[:10].upper()


def canary(what: str) -> str:
    return f"{CANARY}-{what}"


# --- The world: a victim with medical data everywhere, and one account per role ---------------


@dataclass
class World:
    victim: object
    stay: object
    report: object
    documents: list
    entry: object
    trace_id: str
    users: dict
    opinion: object
    consent_request: object
    grant: object
    feed_item_id: object = None


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Its own rate limits: the matrix probes the lookup and the token endpoint many times.
    settings.THROTTLE_RATES = dict.fromkeys(settings.THROTTLE_RATES)
    ortho, cardio = UnitFactory(code="ORTHO", name="Orthopédie"), UnitFactory(code="CARDIO", name="Cardiologie")
    victim_account = UserFactory(role=Role.PATIENT, username="victim")
    # An adult (names her trusted representative, asks for a copy of her record herself): a factory's random birth
    # date would make her a minor in about one run out of six.
    victim = PatientFactory(
        birth_name="VICTIME", first_names="Léa", birth_date=datetime.date(1979, 6, 14), account=victim_account
    )
    surgeon = professional(units=[ortho], username="dr.ortho")
    gp = professional(role=Role.EXTERNAL_PROFESSIONAL, username="dr.gp")
    stay = StayFactory(patient=victim, unit=ortho, discharged_at=None)
    DiagnosisFactory(stay=stay, code="S72.0", label=canary("diagnosis"))
    ProcedureFactory(stay=stay, code="NEKA020", label=canary("procedure"))
    report = ReportFactory(stay=stay, author=surgeon, title=canary("report-title"), body=canary("report-body"))
    draft = ReportFactory(
        stay=stay,
        author=surgeon,
        type_code=ReportType.IMAGING_REPORT,
        title=canary("draft"),
        body=canary("draft-body"),
        status="draft",
        signed_at=None,
    )
    assert draft.pk
    record = records.shared_record_for(victim)
    designate_gp(record, gp)
    fed = documents_service.chu_document_file(report=report, content=MINIMAL_PDF)
    # A report held from the patient until the announcement consultation (issue 19): listed to its releasers only.
    held_report = ReportFactory(
        stay=stay, author=surgeon, type_code=ReportType.IMAGING_REPORT, title=canary("held"), hold_from_patient=True
    )
    assert documents_service.chu_document_file(report=held_report, content=MINIMAL_PDF).held
    from django.core.files.base import ContentFile

    own = documents_service.document_upload(
        actor=victim_account,
        patient_id=victim.public_id,
        uploaded=ContentFile(MINIMAL_PDF, name="a.pdf"),
        title=canary("upload"),
        type_code=None,
    )
    hidden = documents_service.document_upload(
        actor=gp,
        patient_id=victim.public_id,
        uploaded=ContentFile(MINIMAL_PDF, name="b.pdf"),
        title=canary("invisible"),
        type_code=ReportType.CONSULTATION_REPORT,
        visible_to_patient=False,
    )
    documents_service.document_mask(actor=victim_account, document_id=own.public_id)
    # Her objection to the CHU's document (issue 19): its reason is hers, and medical.
    from dmp.services import withdrawal

    withdrawal.objection_create(actor=victim_account, document_id=fed.public_id, reason=canary("objection"))
    entry = profile.profile_add(actor=victim_account, kind="allergy", label=canary("allergy"))
    from audit.models import AuditEvent

    trace_id = str(AuditEvent.objects.filter(patient_id=victim.public_id).first().public_id)
    users = {
        "anonymous": None,
        "other_patient": UserFactory(role=Role.PATIENT, username="other.patient"),
        "chu_clinician": professional(units=[cardio], username="dr.cardio"),
        "chu_collaborator": professional(
            role=Role.CHU_COLLABORATOR, profession=Profession.INFIRMIER, units=[cardio], username="inf.cardio"
        ),
        "external_doctor": professional(role=Role.EXTERNAL_PROFESSIONAL, username="dr.outside"),
        "pharmacist": professional(
            role=Role.EXTERNAL_PROFESSIONAL, profession=Profession.PHARMACIEN, username="ph.outside"
        ),
        "dpo": UserFactory(role=Role.DPO, username="dpo"),
        "admin": UserFactory(role=Role.ADMIN, username="admin.leak", is_staff=True, is_superuser=True),
    }
    PatientFactory(account=users["other_patient"], birth_name="AUTRE")
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.factories import TOTP_KEY

    for role in ("admin", "dpo"):
        TOTPDevice.objects.create(user=users[role], name="authenticator", key=TOTP_KEY, confirmed=True)
    colleague = professional(units=[ortho], username="dr.ortho2")
    opinion = care.opinion_request_create(
        actor=surgeon, stay_id=stay.public_id, question=canary("opinion-question"), consulted_username="dr.ortho2"
    )
    care.handover_add(actor=surgeon, stay_id=stay.public_id, body=canary("handover"))
    assert colleague.pk
    asker = professional(role=Role.EXTERNAL_PROFESSIONAL, username="dr.asker")
    consent_request = requests.consent_request_create(
        actor=asker, patient_id=victim.public_id, purpose="Suivi cardiologique"
    )
    granted = professional(role=Role.EXTERNAL_PROFESSIONAL, username="dr.granted")
    grant = grants.consent_in_person_record(
        actor=granted, patient_id=victim.public_id, purpose="Consultation", patient_present=True
    )
    from dmp.models import FeedItem

    letter = reports.report_create_draft(
        actor=surgeon,
        stay_id=stay.public_id,
        type_code=ReportType.OPERATIVE_REPORT,
        title=canary("fed-title"),
        body=canary("fed-body"),
    )
    reports.report_sign(actor=surgeon, report_id=letter.public_id)
    item = FeedItem.objects.filter(report=letter).first()
    return World(
        victim,
        stay,
        report,
        [fed, own, hidden],
        entry,
        trace_id,
        users,
        opinion,
        consent_request,
        grant,
        item.public_id if item else uuid.uuid4(),
    )


# --- The registry: how to probe each URL pattern ------------------------------------------------

# Values for URL keywords, from the world (the victim's objects).
KWARGS = {
    "patient_id": lambda w, i: w.victim.public_id,
    "document_id": lambda w, i: w.documents[i % len(w.documents)].public_id,
    "report_id": lambda w, i: w.report.public_id,
    "stay_id": lambda w, i: w.stay.public_id,
    "entry_id": lambda w, i: w.entry.public_id,
    "event_id": lambda w, i: w.trace_id,
    "rpps": lambda w, i: "10000000017",
    "fmt": lambda w, i: ("csv", "fhir")[i % 2],
    "opinion_id": lambda w, i: w.opinion.public_id,
    "request_id": lambda w, i: w.consent_request.public_id,
    "grant_id": lambda w, i: w.grant.public_id,
    "item_id": lambda w, i: w.feed_item_id,
    "uidb64": lambda w, i: "MQ",
    "token": lambda w, i: "set-password",
    "rest": lambda w, i: "Observation",
    "designation_id": lambda w, i: _victims("Designation", record__patient=w.victim).public_id,
    "notification_id": lambda w, i: _victims("Notification", recipient=w.victim.account).public_id,
    "answer": lambda w, i: ("accepter", "decliner")[i % 2],
    "objection_id": lambda w, i: _victims("DocumentObjection", document__record__patient=w.victim).public_id,
    "representation_id": lambda w, i: _representation(w),
    "record_request_id": lambda w, i: _record_request(w),
    "message_id": lambda w, i: _secure_message(w),
}


def _record_request(world):
    """The victim's request for a copy of her hospital record (issue 22), made on first use."""
    from django.utils import timezone as tz

    from record_requests import deadlines
    from record_requests.models import RecordRequest

    found = RecordRequest.objects.filter(patient=world.victim).first()
    if found is None:
        due = deadlines.compute(tz.now(), world.stay.admitted_at)
        found = RecordRequest.objects.create(
            patient=world.victim,
            requester_kind="patient",
            requested_by=world.victim.account,
            delivery="download",
            earliest_release_at=due.earliest_release_at,
            due_on=due.due_on,
        )
        found.stays.set([world.stay])
    return found.public_id


def _secure_message(world):
    """A message about the victim in her GP's secure inbox (issue 22): nobody probed is its recipient."""
    from accounts.models import User
    from record_requests.models import SecureMessage

    found = SecureMessage.objects.first()
    if found is None:
        found = SecureMessage.objects.create(
            recipient=User.objects.get(username="dr.gp"), subject=canary("message-subject"), body=canary("message")
        )
    return found.public_id


def _representation(world):
    """The victim's trusted representative (issue 21), named on first use."""
    from records.models import Representation
    from records.services import representatives

    found = Representation.objects.filter(patient=world.victim).first()
    if found is None:
        trusted = UserFactory(role=Role.PATIENT, username="trusted.rep")
        found = representatives.trusted_representative_name(actor=world.victim.account, representative=trusted.username)
    return found.public_id


def _victims(model: str, **lookup):
    """The victim's first object of a DMP model (her médecin traitant's designation, a notification)."""
    from django.apps import apps

    return apps.get_model("dmp", model).objects.filter(**lookup).first()


# Every URL name -> the methods to probe ("GET", "POST"). Patterns whose path names a patient
# object are probed with the victim's; the others with what the caller may list or search.
PROBE = {
    "health": ["GET"],
    "two_records": ["GET"],
    "favicon": ["GET"],
    # OpenAPI schema and docs: no data; the /api/ catch-all answers 404 JSON.
    "schema": ["GET"],
    "api-docs": ["GET"],
    "api-not-found": ["GET"],
    # FHIR R4 read layer: the same rules as the API.
    **{
        f"fhir:{n}": ["GET"]
        for n in (
            "metadata",
            "patient",
            "document-search",
            "document",
            "consent-search",
            "audit-event-search",
            "unsupported",
        )
    },
    "accessibility": ["GET"],
    "set_language": ["POST"],
    # Accounts: sign-in and the caller's own security settings.
    **{
        f"accounts:{n}": ["GET"]
        for n in (
            "login",
            "otp_verify",
            "otp_enrol",
            "security",
            "password_reset",
            "password_reset_done",
            "password_reset_confirm",
            "password_reset_complete",
            "home",
        )
    },
    "accounts:logout": ["POST"],
    # Hospital record pages.
    "records:my_patients": ["GET"],
    "records:patient_search": ["GET"],
    "records:patient_record": ["GET"],
    "records:emergency_access": ["POST"],
    "records:qualify_identity": ["POST"],
    "records:retrieve_ins": ["POST"],
    "records:report_create": ["GET", "POST"],
    "records:report_detail": ["GET"],
    "records:report_edit": ["GET", "POST"],
    "records:report_sign": ["POST"],
    "records:report_amend": ["GET", "POST"],
    "records:stay_transfer": ["POST"],
    "records:opinion_request": ["POST"],
    "records:handover_add": ["POST"],
    "records:opinions": ["GET"],
    "records:opinion_answer": ["POST"],
    "records:opinion_close": ["POST"],
    "records:missing_letters": ["GET"],
    # DPO pages: traces by design, never medical content.
    "audit:console": ["GET"],
    "audit:verify": ["POST"],
    "audit:review": ["GET", "POST"],
    "audit:export": ["GET"],
    # DMP pages.
    **{
        f"dmp:{n}": ["GET"]
        for n in (
            "home",
            "document",
            "document_content",
            "profile",
            "settings",
            "blocked",
            "notifications",
            "history",
            "pro_home",
            "pro_find",
            "gp_dashboard",
            "held_reports",
            "patient_dmp",
            "activate",
            "export",
        )
    },
    **{
        f"dmp:{n}": ["POST"]
        for n in (
            "document_mask",
            "document_unmask",
            "document_delete",
            "document_make_visible",
            "profile_delete",
            "settings_status",
            "settings_deletion",
            "unblock",
        )
    },
    "dmp:upload": ["GET", "POST"],
    # The representative's choice of whose DMP is open (an id she does not represent changes nothing).
    "dmp:acting_choose": ["GET", "POST"],
    "dmp:upload_for_patient": ["GET", "POST"],
    # API.
    **{
        f"api:{n}": ["GET"]
        for n in (
            "me",
            "patient-search",
            "patient-detail",
            "patient-record",
            "report-detail",
            "dmp-lookup",
            "dmp-document",
            "dmp-document-content",
            "dmp-documents",
            "dmp-settings",
            "dmp-blocked",
            "dmp-profile",
            "dmp-export",
            "audit-events",
            "audit-verify",
        )
    },
    **{
        f"api:{n}": ["POST"]
        for n in (
            "auth-token",
            "auth-logout",
            "patient-emergency-access",
            "patient-qualify-identity",
            "patient-retrieve-ins",
            "report-create",
            "report-sign",
            "report-amend",
            "dmp-document-mask",
            "dmp-document-unmask",
            "dmp-document-make-visible",
            "dmp-deletion-request",
        )
    },
    "api:dmp-unblock": ["DELETE"],
    "api:stays-missing-letter": ["GET"],
    # Consent and emergency (issue 4).
    **{f"api:{n}": ["GET"] for n in ("consent-requests", "dmp-grants")},
    **{
        f"api:{n}": ["POST"]
        for n in (
            "consent-request-approve",
            "consent-request-deny",
            "dmp-consent-in-person",
            "dmp-consent-requests",
            "dmp-emergency-access",
        )
    },
    "api:grant-detail": ["DELETE"],
    # GP-level rights and notifications (issue 16).
    **{f"api:{n}": ["GET"] for n in ("designations", "notifications")},
    "api:dmp-designations": ["GET", "POST"],
    **{
        f"api:{n}": ["POST"]
        for n in ("dmp-designation-in-person", "designation-accept", "designation-decline", "notification-read")
    },
    "api:designation-detail": ["DELETE"],
    # Representatives (issue 21): identity-level rows for the desk and the patient; ending one.
    "api:patient-representatives": ["GET", "POST"],
    "api:me-trusted-representatives": ["POST"],
    "api:representation-detail": ["DELETE"],
    "records:representatives": ["GET", "POST"],
    "records:trusted": ["GET", "POST"],
    "records:representation_end": ["POST"],
    **{f"dmp:{n}": ["GET"] for n in ("designations", "pro_designations")},
    **{f"dmp:{n}": ["POST"] for n in ("designation_remove", "pro_designation_answer")},
    **{f"dmp:{n}": ["GET"] for n in ("consents", "pro_requests")},
    "dmp:access_request": ["GET", "POST"],
    # The patient authorises a professional herself (issue 20).
    "dmp:authorise": ["GET", "POST"],
    # The feed dashboard (issue 5): administrators, no medical content.
    "dmp:feed_dashboard": ["GET"],
    "dmp:feed_retry": ["POST"],
    **{f"dmp:{n}": ["POST"] for n in ("consent_approve", "consent_deny", "grant_revoke", "emergency_alerts_seen")},
    "api:opinion-requests": ["GET", "POST"],
    **{
        f"api:{n}": ["POST"]
        for n in ("stay-transfer", "stay-handover-notes", "opinion-request-answer", "opinion-request-close")
    },
    # The minor's secret on a stay (issue 22, CSP L.1111-5): a change, no content.
    "records:stay_secret": ["POST"],
    "api:stay-minor-secret": ["POST"],
    # Withdrawal and the patient's objection (issue 19, point 2); the DPO's identity-vigilance incidents.
    **{f"dmp:{n}": ["GET", "POST"] for n in ("document_withdraw", "document_objection", "pro_objection_answer")},
    **{f"dmp:{n}": ["GET"] for n in ("report_withdraw", "objections", "pro_objections")},
    "records:identity_incidents": ["GET"],
    **{f"api:{n}": ["POST"] for n in ("dmp-document-withdraw", "dmp-document-objection", "objection-answer")},
    **{f"api:{n}": ["GET"] for n in ("dmp-objections", "objections")},
    # A copy of the hospital record (issue 22): the requester's pages, the records office's, the doctor's inbox.
    **{
        f"record_requests:{n}": ["GET"]
        for n in ("mine", "detail", "download", "queue", "office_detail", "inbox", "message", "message_download")
    },
    **{f"record_requests:{n}": ["GET", "POST"] for n in ("ask", "heir_new", "validate")},
    "record_requests:refuse": ["POST"],
    **{
        f"api:{n}": ["GET"]
        for n in (
            "record-request-queue",
            "record-request-detail",
            "record-request-bundle",
            "secure-messages",
            "secure-message-bundle",
        )
    },
    "api:record-requests": ["GET", "POST"],
    **{f"api:{n}": ["POST"] for n in ("record-request-heirs", "record-request-validate", "record-request-refuse")},
}

# Query strings that make list and search endpoints reach for the victim.
QUERY = {
    "records:patient_search": {"q": "victime"},
    "api:patient-search": {"q": "victime"},
    "api:dmp-lookup": lambda w: {"ins": w.victim.nir, "birth_date": w.victim.birth_date.isoformat()},
    "dmp:pro_find": lambda w: {"q": "victime", "ins": w.victim.nir, "birth_date": w.victim.birth_date.isoformat()},
    "api:audit-events": lambda w: {"patient": str(w.victim.public_id)},
    "audit:console": lambda w: {"patient": str(w.victim.public_id)},
    "fhir:document-search": lambda w: {"patient": str(w.victim.public_id)},
    "fhir:consent-search": lambda w: {"patient": str(w.victim.public_id)},
    "fhir:audit-event-search": lambda w: {"patient": str(w.victim.public_id)},
}


def url_patterns():
    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            elif isinstance(pattern, URLPattern):
                yield namespace + (pattern.name or ""), prefix + str(pattern.pattern), pattern

    return list(walk(get_resolver().url_patterns))


def is_admin_site(name: str) -> bool:
    # The admin site holds reference data and accounts only (no medical model is registered);
    # its pages are probed through its index and change lists below.
    return name.startswith("admin:")


def test_every_url_pattern_is_classified():
    unknown = sorted(
        name or route for name, route, _ in url_patterns() if not is_admin_site(name) and name not in PROBE
    )
    assert unknown == [], f"classify these URL patterns in tests/security/test_leaks.py PROBE: {unknown}"


def test_no_medical_model_is_registered_in_the_admin():
    from django.contrib import admin

    medical = {"records", "dmp"}
    registered = {f"{m._meta.app_label}.{m.__name__}" for m in admin.site._registry if m._meta.app_label in medical}
    # Access-matrix rows and grants carry no medical content (who may read which type, who is authorised).
    assert registered <= {"dmp.AccessMatrixEntry", "dmp.ProfileMatrixEntry", "dmp.AccessGrant"}


# --- Probing ----------------------------------------------------------------------------------


def clients_for(world):
    clients = {}
    for role, user in world.users.items():
        page, api = VerifiedClient(), APIClient()
        if user is not None:
            page.force_login(user)
            _token, raw = ApiToken.issue(user)
            api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        clients[role] = (page, api)
    return clients


def build_url(name, route, pattern, world, variant):
    from django.urls import reverse

    kwargs = (
        {key: KWARGS[key](world, variant) for key in pattern.pattern.converters} if pattern.pattern.converters else {}
    )
    # Route keywords without converters (str) are found in the regex groups.
    for key in pattern.pattern.regex.groupindex:
        kwargs.setdefault(key, KWARGS[key](world, variant))
    return reverse(name, kwargs=kwargs)


# Endpoints that legitimately open access (bris de glace, consent recorded in person): probed with
# an incomplete body, so that they refuse; opening access is their purpose, not a leak.
OPENS_ACCESS = {
    "records:emergency_access",
    "api:patient-emergency-access",
    "api:dmp-emergency-access",
    "api:dmp-consent-in-person",
    "api:dmp-designation-in-person",
    "dmp:access_request",
}


def probe(clients, world, role, name, route, pattern, method, variant=0):
    page_client, api_client = clients[role]
    url = build_url(name, route, pattern, world, variant)
    query = QUERY.get(name, {})
    query = query(world) if callable(query) else query
    client = api_client if url.startswith(("/api/", "/fhir/")) else page_client
    if method == "GET":
        response = client.get(url, query)
    elif method == "POST":
        body = {
            "title": "x",
            "body": "y",
            "type_code": ReportType.DISCHARGE_LETTER,
            "stay": str(world.stay.public_id),
            "comment": "ok",
        }
        if name not in OPENS_ACCESS:
            body["reason"] = canary("reason-attempt")
        response = client.post(url, body, format="json") if client is api_client else client.post(url, body)
    else:
        response = client.generic(method, url)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, content.decode("utf-8", "replace")


def leaks(content: str) -> list[str]:
    found = []
    start = 0
    while (index := content.find(CANARY, start)) != -1:
        found.append(content[index : index + len(CANARY) + 20])
        start = index + 1
    # An attempt's own input echoed back (the reason it typed) is not the victim's data.
    return [f for f in found if "reason-attempt" not in f]


ROLES = [
    "anonymous",
    "other_patient",
    "chu_clinician",
    "chu_collaborator",
    "external_doctor",
    "pharmacist",
    "dpo",
    "admin",
]


def probes():
    return [
        (name, route, pattern, method)
        for name, route, pattern in url_patterns()
        if name in PROBE
        for method in PROBE[name]
    ]


def test_no_role_reads_the_victims_medical_data_through_any_endpoint(world):
    from dmp.models import DmpEmergencyAccess
    from records.models import EmergencyAccess

    clients = clients_for(world)
    failures = []
    for name, route, pattern, method in probes():
        for role in ROLES:
            status, content = probe(clients, world, role, name, route, pattern, method)
            assert not EmergencyAccess.objects.exists(), f"{role} {method} {name} opened an emergency access"
            assert not DmpEmergencyAccess.objects.exists(), f"{role} {method} {name} opened a DMP emergency access"
            if found := leaks(content):
                failures.append(f"{role} {method} {name} -> {status}: {found[:2]}")
    assert failures == []


def test_the_admin_site_shows_no_medical_content(world):
    clients = clients_for(world)
    page, _ = clients["admin"]
    from django.contrib import admin

    urls = ["/admin/"] + [f"/admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry]
    for url in urls:
        assert not leaks(page.get(url).content.decode()), url


def test_every_response_of_the_registry_forbids_caching(world):
    """Issue 18: pages, JSON lists and FHIR answers carrying personal or medical data are `no-store`.
    Probed over every GET of the registry, as the victim, her surgeon (who see the canaries) and anonymous."""
    from accounts.models import User

    probers = {}
    for name, user in (("victim", world.victim.account), ("surgeon", User.objects.get(username="dr.ortho"))):
        page, api = VerifiedClient(), APIClient()
        page.force_login(user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user)[1]}")
        probers[name] = (page, api)
    probers["anonymous"] = (VerifiedClient(), APIClient())
    missing, seen_data = [], 0
    for name, route, pattern, method in probes():
        if method != "GET":
            continue
        url = build_url(name, route, pattern, world, 0)
        query = QUERY.get(name, {})
        query = query(world) if callable(query) else query
        for who, (page, api) in probers.items():
            response = (api if url.startswith(("/api/", "/fhir/")) else page).get(url, query)
            content = b"".join(response.streaming_content) if response.streaming else response.content
            seen_data += bool(leaks(content.decode("utf-8", "replace")))
            if "no-store" not in response.get("Cache-Control", ""):
                missing.append(f"{who} GET {name} -> {response.status_code}: {response.get('Cache-Control')}")
    assert seen_data > 5  # the probe reached her data on pages, JSON and FHIR
    assert missing == []


def test_the_canaries_are_visible_to_those_who_may_see_them(world):
    """The probe is not blind: the victim's own care team and the victim do see the canaries."""
    surgeon = VerifiedClient()
    from accounts.models import User

    surgeon.force_login(User.objects.get(username="dr.ortho"))
    assert leaks(surgeon.get(f"/patients/{world.victim.public_id}/dossier/").content.decode())
    patient = VerifiedClient()
    patient.force_login(world.victim.account)
    assert leaks(patient.get("/dmp/").content.decode())


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_varying_objects_and_roles_never_leaks(world, data):
    clients = clients_for_cached(world)
    name, route, pattern, method = data.draw(st.sampled_from(probes()), label="endpoint")
    role = data.draw(st.sampled_from(ROLES), label="role")
    variant = data.draw(st.integers(min_value=0, max_value=8), label="object variant")
    if variant % 3 == 2:
        # Vary the victim's state too: a masked or unmasked document, an expired window.
        doc = world.documents[variant % len(world.documents)]
        doc.refresh_from_db()
        if doc.visible_to_patient:
            type(doc).objects.filter(pk=doc.pk).update(masked=not doc.masked)
    from records.access import decide_record

    opened_before = {r: decide_record(u, world.victim).allowed for r, u in world.users.items() if u is not None}
    status, content = probe(clients, world, role, name, route, pattern, method, variant)
    assert not leaks(content), (role, method, name, status)
    # No probe may open access itself: a leak found later must be a leak, not a legitimate bris de glace.
    opened_after = {r: decide_record(u, world.victim).allowed for r, u in world.users.items() if u is not None}
    assert opened_after == opened_before, ("opened access", role, method, name)


_clients_cache: dict = {}


def clients_for_cached(world):
    key = id(world)
    if key not in _clients_cache:
        _clients_cache.clear()
        _clients_cache[key] = clients_for(world)
    return _clients_cache[key]


def test_an_expired_emergency_window_reveals_nothing(world):
    """A bris-de-glace window that ended gives no more access than none at all."""
    from records.models import EmergencyAccess

    clinician = world.users["chu_clinician"]
    EmergencyAccess.objects.create(
        user=clinician,
        patient=world.victim,
        reason="Arrêt cardiaque",
        starts=timezone.now() - datetime.timedelta(hours=6),
        expires=timezone.now() - datetime.timedelta(hours=2),
    )
    page = VerifiedClient()
    page.force_login(clinician)
    assert not leaks(page.get(f"/patients/{world.victim.public_id}/dossier/").content.decode())
