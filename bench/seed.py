"""Benchmark dataset: patients, DMP documents and traces at hospital scale, generated with bulk SQL.

Used by the runner (`python -m bench`), never by the application or the tests. Two calls grow the
same database: first to the small sizes, then to the large ones (`grow`), so that the same
patients, professionals and tokens are measured against both volumes.

Shape:
- `units` CHU units; every patient has one open stay in unit (patient number mod units), so a
  clinician of that unit is in the care team;
- the first `TYPICAL` patients ("typical patients") have exactly 50 current DMP documents each,
  written in the small stage; the large stage spreads the other documents over the other patients;
- load users: patients with an account (the first ones), CHU clinicians (a consent grant on every
  typical patient), GPs (médecin traitant of a share of the patients, a TOTP device and a
  ready-made verified session, since the GP dashboard is a page); the API users get tokens issued
  directly (accounts.models.ApiToken.issue) instead of logging in with a second factor;
- documents share one small PDF in storage (the bench never measures file size);
- traces are synthetic accesses to the real patients (INSERT ... SELECT generate_series in
  transactions of 5,000 rows, as the application writes them in many transactions).
"""

from __future__ import annotations

import datetime
import hashlib
import io

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, Profession, ProfessionalProfile, Role, Unit, User
from accounts.validators import make_rpps
from dmp.constants import DocumentClass, DocumentSource, DocumentType, GrantSource
from dmp.models import AccessGrant, SharedRecord
from records.constants import StayKind

TYPICAL = 20  # patients with exactly 50 documents (20 x 50 = the small stage's 1,000 documents)
TYPICAL_DOCS = 50
UNITS = 10
SHARED_FILE = "bench/shared.pdf"
BATCH = 5_000
PASSWORD_HASH = "!bench-no-password"  # unusable: load users never log in with a password


def _exec(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})


def _scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.fetchone()[0]


def pdf_bytes(text: str = "Document de test (banc de mesure)") -> bytes:
    """A small valid PDF (reportlab), for the shared stored file and for uploads."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def _users(prefix: str, count: int, role: str, first: str) -> list[User]:
    users = [
        User(
            username=f"{prefix}{i:05d}",
            password=PASSWORD_HASH,
            role=role,
            first_name=first,
            last_name=f"{prefix.upper()}{i:05d}",
        )
        for i in range(count)
    ]
    User.objects.bulk_create(users, batch_size=2000)
    return list(User.objects.filter(username__startswith=prefix).order_by("username"))


def _professionals(users: list[User], profession: str, rpps_base: int, unit_for=None) -> None:
    profiles = ProfessionalProfile.objects.bulk_create(
        [
            ProfessionalProfile(user=u, rpps=make_rpps(f"{rpps_base + i:010d}"), profession=profession)
            for i, u in enumerate(users)
        ]
    )
    if unit_for is not None:
        through = ProfessionalProfile.units.through
        through.objects.bulk_create(
            [through(professionalprofile_id=p.pk, unit_id=unit_for(i)) for i, p in enumerate(profiles)]
        )
    TOTPDevice.objects.bulk_create(
        [
            TOTPDevice(user=u, name="authenticator", key="3132333435363738393031323334353637383930", confirmed=True)
            for u in users
        ]
    )


def create_base(*, patients: int, load_patients: int, clinicians: int, gps: int) -> None:
    """Everyone but documents and traces: units, patients, DMPs, stays, load users, grants."""
    now = timezone.now()
    units = Unit.objects.bulk_create([Unit(code=f"B{i:02d}", name=f"Unité de banc {i:02d}") for i in range(UNITS)])
    unit_ids = [u.pk for u in units]
    with transaction.atomic():
        _exec(
            """
            INSERT INTO records_patient (public_id, ipp, birth_name, used_name, first_names, birth_date, sex,
                birth_place, nir, ins_oid, ins_status, identity_document_checked)
            SELECT md5('patient' || g)::uuid, 'B' || lpad(g::text, 9, '0'), 'PATIENT' || g, '', 'Camille',
                   date '1950-01-01' + (g %% 25000), CASE WHEN g %% 2 = 0 THEN 'F' ELSE 'M' END, '', NULL,
                   %(oid)s, 'provisional', false
            FROM generate_series(1, %(n)s) AS g
            """,
            {"n": patients, "oid": "1.2.250.1.213.1.4.10"},
        )
        _exec(
            """
            INSERT INTO dmp_sharedrecord (public_id, patient_id, status, emergency_access_allowed,
                samu_access_allowed, notify_by_email, created_at)
            SELECT md5('record' || p.id)::uuid, p.id, 'active', true, true, false, %(now)s
            FROM records_patient p ORDER BY p.id
            """,
            {"now": now},
        )
        _exec(
            """
            INSERT INTO records_stay (public_id, patient_id, kind, unit_id, admitted_at, discharged_at,
                secret_from_representatives)
            SELECT md5('stay' || p.id)::uuid, p.id, %(kind)s, (%(units)s::bigint[])[1 + p.id %% %(n_units)s],
                   %(now)s - interval '3 days', NULL, false
            FROM records_patient p
            """,
            {"kind": StayKind.HOSPITALISATION.value, "units": unit_ids, "n_units": UNITS, "now": now},
        )

    patient_users = _users("bpat", load_patients, Role.PATIENT, "Camille")
    patient_rows = list(
        connection.cursor().execute("SELECT id FROM records_patient ORDER BY id LIMIT %s", [load_patients])
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE records_patient SET account_id = %s WHERE id = %s",
            [(u.pk, row[0]) for u, row in zip(patient_users, patient_rows, strict=True)],
        )

    clinician_users = _users("bclin", clinicians, Role.CHU_CLINICIAN, "Claire")
    _professionals(clinician_users, Profession.MEDECIN, 1_000_000, unit_for=lambda i: unit_ids[i % UNITS])
    gp_users = _users("bgp", gps, Role.EXTERNAL_PROFESSIONAL, "Gilles")
    _professionals(gp_users, Profession.MEDECIN, 2_000_000)
    # GPs: médecin traitant of every patient whose number mod gps is theirs.
    # The right is guardian's object permission (dmp.gp_rights) beside a designation in force.
    permission = Permission.objects.get(codename="gp_rights", content_type__app_label="dmp")
    _exec(
        "INSERT INTO dmp_designation (public_id, record_id, doctor_id, kind, status, in_person, proposed_at, accepted_at)"
        " SELECT gen_random_uuid(), r.id, (%(gps)s::bigint[])[1 + r.patient_id %% %(n)s], 'gp', 'active', false,"
        " now(), now() FROM dmp_sharedrecord r",
        {"gps": [u.pk for u in gp_users], "n": gps},
    )
    _exec(
        "INSERT INTO dmp_sharedrecorduserobjectpermission (content_object_id, user_id, permission_id)"
        " SELECT record_id, doctor_id, %(perm)s FROM dmp_designation WHERE kind = 'gp' AND status = 'active'",
        {"perm": permission.pk},
    )

    # Consent grants of every clinician on every typical patient (checked in SQL by dmp/access.py).
    typical_records = list(SharedRecord.objects.order_by("patient_id")[:TYPICAL])
    AccessGrant.objects.bulk_create(
        [
            AccessGrant(
                record=r,
                professional=u,
                source=GrantSource.CONSENT,
                starts=now,
                expires=now + datetime.timedelta(days=365),
            )
            for r in typical_records
            for u in clinician_users
        ]
    )
    if not default_storage.exists(SHARED_FILE):
        default_storage.save(SHARED_FILE, io.BytesIO(pdf_bytes()))


def _pdf_meta() -> tuple[int, str]:
    with default_storage.open(SHARED_FILE) as handle:
        content = handle.read()
    return len(content), hashlib.sha256(content).hexdigest()


DOCUMENT_INSERT = """
INSERT INTO dmp_shareddocument (public_id, record_id, title, type_code, class_code, source, author_id, event_date,
    created_at, file, original_filename, mime_type, size, sha256, status, masked, visible_to_patient, deleted_at,
    lineage, held, withdrawal_reason, withdrawal_note, secret_from_representatives)
SELECT md5('doc' || g)::uuid,
       {record_expr},
       'Compte rendu ' || g,
       (%(types)s::text[])[1 + g %% %(n_types)s], %(class)s, %(source)s,
       (%(authors)s::bigint[])[1 + g %% %(n_authors)s],
       (%(now)s::timestamptz - ((g * 7919) %% 730) * interval '1 day')::date,
       %(now)s::timestamptz - ((g * 7919) %% 730) * interval '1 day' - (g %% 86400) * interval '1 second',
       %(file)s, 'compte-rendu.pdf', 'application/pdf', %(size)s, %(sha)s, 'current', false, true, NULL,
       md5('lineage' || g)::uuid, false, '', '', false
FROM generate_series(%(low)s, %(high)s) AS g
"""


def add_documents(total: int) -> None:
    """Grow the DMP documents to `total`: the typical patients' 50 each first, then the others."""
    have = _scalar("SELECT count(*) FROM dmp_shareddocument")
    if have >= total:
        return
    size, sha = _pdf_meta()
    records = [r for (r,) in connection.cursor().execute("SELECT id FROM dmp_sharedrecord ORDER BY patient_id")]
    authors = [
        pk for (pk,) in connection.cursor().execute("SELECT id FROM accounts_user WHERE username LIKE 'bclin%%'")
    ]
    types = [
        DocumentType.DISCHARGE_LETTER.value,
        DocumentType.CONSULTATION_REPORT.value,
        DocumentType.LAB_REPORT.value,
        DocumentType.IMAGING_REPORT.value,
    ]
    params = {
        "types": types,
        "n_types": len(types),
        "class": DocumentClass.REPORT.value,
        "source": DocumentSource.CHU.value,
        "authors": authors,
        "n_authors": len(authors),
        "now": timezone.now(),
        "file": SHARED_FILE,
        "size": size,
        "sha": sha,
    }
    typical_total = TYPICAL * TYPICAL_DOCS
    typical = records[:TYPICAL]
    others = records[TYPICAL:]
    for low in range(have + 1, total + 1, BATCH):
        high = min(low + BATCH - 1, total)
        # Numbers 1..TYPICAL*50 go to the typical patients (50 each), the rest round-robin to the others.
        with transaction.atomic():
            if low <= typical_total:
                top = min(high, typical_total)
                _exec(
                    DOCUMENT_INSERT.format(record_expr=f"(%(recs)s::bigint[])[1 + (g - 1) / {TYPICAL_DOCS}]"),
                    {**params, "recs": typical, "low": low, "high": top},
                )
                low = top + 1
            if low <= high:
                _exec(
                    DOCUMENT_INSERT.format(record_expr="(%(recs)s::bigint[])[1 + g %% %(n_recs)s]"),
                    {**params, "recs": others, "n_recs": len(others), "low": low, "high": high},
                )


TRACE_INSERT = """
INSERT INTO audit_auditevent (public_id, at, actor_id, actor_username, actor_name, actor_role, actor_rpps,
    patient_id, action, object_type, object_id, object_ids, outcome, mode, reason, flagged, flag_reason, ip, request_id)
SELECT md5('trace' || g)::uuid,
       %(start)s::timestamptz + g * interval '20 second',
       md5('actor' || (g %% 200))::uuid, 'user' || (g %% 200), 'Soignant ' || (g %% 200), 'chu_clinician',
       lpad(((g %% 200) + 10000000000)::text, 11, '0'),
       md5('patient' || (1 + g %% %(patients)s))::uuid,
       CASE WHEN g %% 10 = 0 THEN 'list' ELSE 'read' END, 'hospital_record', md5('o' || g), '[]'::jsonb,
       CASE WHEN g %% 50 = 0 THEN 'denied' ELSE 'allowed' END,
       CASE WHEN g %% 50 = 0 THEN '' ELSE 'care_team' END,
       CASE WHEN g %% 50 = 0 THEN 'forbidden' ELSE '' END,
       false, '', '10.0.0.1', md5('r' || g)
FROM generate_series(%(low)s, %(high)s) AS g
"""


def add_traces(total: int, patients: int) -> None:
    """Grow the synthetic traces to `total` (about the real patients: patient public_ids are md5('patient' || n))."""
    have = _scalar("SELECT count(*) FROM audit_auditevent WHERE actor_username LIKE 'user%%'")
    start = timezone.now() - datetime.timedelta(seconds=20 * (total + 10))
    for low in range(have + 1, total + 1, BATCH):
        with transaction.atomic():
            _exec(
                TRACE_INSERT,
                {"start": start, "patients": patients, "low": low, "high": min(low + BATCH - 1, total)},
            )


def analyze() -> None:
    _exec("ANALYZE")


def _session_for(user: User) -> str:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.set_expiry(settings.PROFESSIONAL_SESSION_IDLE_SECONDS)
    store.create()
    return store.session_key


def load_users() -> dict:
    """Credentials and targets of the load users: API tokens issued directly, GP sessions."""
    patients = list(User.objects.filter(username__startswith="bpat").select_related("patient").order_by("patient__id"))
    typical_ids = [
        str(p)
        for p in SharedRecord.objects.order_by("patient_id").values_list("patient__public_id", flat=True)[:TYPICAL]
    ]
    result = {"typical": typical_ids, "patients": [], "clinicians": [], "gps": []}
    for user in patients:
        _token, raw = ApiToken.issue(user)
        result["patients"].append({"token": raw, "patient_id": str(user.patient.public_id)})
    for user in User.objects.filter(username__startswith="bclin").prefetch_related("professional_profile__units"):
        _token, raw = ApiToken.issue(user)
        unit = user.professional.units.all()[0]
        in_unit = [str(p) for p in unit.stays.order_by("patient_id").values_list("patient__public_id", flat=True)[:200]]
        result["clinicians"].append({"token": raw, "unit_patients": in_unit})
    for user in User.objects.filter(username__startswith="bgp").order_by("username"):
        _token, raw = ApiToken.issue(user)
        result["gps"].append({"token": raw, "session": _session_for(user)})
    return result
