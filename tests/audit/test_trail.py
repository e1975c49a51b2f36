"""The audit trail: insert-only in the database, sealed, verified, and fail-closed for the reads it traces."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit import integrity
from audit import services as audit
from audit.constants import Action, Mode
from audit.models import AuditEvent, AuditSeal
from dmp.services import documents
from dmp.services import records as dmp_records
from records.services import patients, reports
from tests.factories import designate_gp


def write_traces(actor, n):
    with transaction.atomic():
        return [
            audit.record(
                actor=actor, action=Action.READ, mode=Mode.CARE_TEAM, patient_id=uuid.uuid4(), object_type="report"
            )
            for _ in range(n)
        ]


# Sealing only takes traces whose transactions have finished: these tests commit for real.
committed = pytest.mark.django_db(transaction=True)


def maintenance(sql, params=()):
    """What an attacker with the database owner's rights could do (the maintenance switch on)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL chu.audit_maintenance = 'on'")
        cursor.execute(sql, params)


def test_update_on_a_trace_is_refused_by_the_database(dr_bernard):
    event = write_traces(dr_bernard, 1)[0]
    with pytest.raises(DatabaseError, match="insert-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET actor_username = 'someone' WHERE id = %s", [event.pk])


def test_delete_and_truncate_on_traces_are_refused_by_the_database(dr_bernard):
    event = write_traces(dr_bernard, 1)[0]
    for sql in (f"DELETE FROM audit_auditevent WHERE id = {event.pk}", "TRUNCATE audit_auditevent"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@committed
def test_seals_are_insert_only_too(dr_bernard):
    write_traces(dr_bernard, 2)
    integrity.seal_pending()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditseal SET hash = 'x'")


def test_the_orm_refuses_to_update_or_delete_a_trace(dr_bernard):
    event = write_traces(dr_bernard, 1)[0]
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="list")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def test_postgres_stamps_each_trace_with_its_transaction(dr_bernard):
    first, second = write_traces(dr_bernard, 2)
    stamps = dict(AuditEvent.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "txid"))
    assert stamps[first.pk] is not None and stamps[first.pk] == stamps[second.pk]


@committed
def test_an_untouched_trail_verifies(dr_bernard):
    write_traces(dr_bernard, 5)
    result = integrity.verify()
    assert result.ok and result.checked == 5


@committed
def test_a_tampered_trace_is_found_at_the_right_row(dr_bernard):
    events = write_traces(dr_bernard, 5)
    integrity.seal_pending()
    maintenance("UPDATE audit_auditevent SET actor_username = 'dr.nobody' WHERE id = %s", [events[2].pk])
    result = integrity.verify()
    assert not result.ok
    assert result.first_broken_id == events[2].pk
    assert result.problem == "trace altered"


@committed
def test_a_deleted_trace_is_found_at_the_right_row(dr_bernard):
    events = write_traces(dr_bernard, 5)
    integrity.seal_pending()
    maintenance("DELETE FROM audit_auditevent WHERE id = %s", [events[3].pk])
    result = integrity.verify()
    assert (result.ok, result.first_broken_id, result.problem) == (False, events[3].pk, "trace missing")


@committed
def test_a_trace_slipped_in_under_the_seals_is_found(dr_bernard):
    write_traces(dr_bernard, 3)
    integrity.seal_pending()
    horizon = AuditSeal.objects.order_by("-id").first().txid_horizon
    forged = write_traces(dr_bernard, 1)[0]
    maintenance("UPDATE audit_auditevent SET txid = %s WHERE id = %s", [horizon - 1, forged.pk])
    result = integrity.verify(seal_first=False)
    assert (result.ok, result.first_broken_id) == (False, forged.pk)


@committed
def test_a_forged_seal_breaks_the_chain(dr_bernard):
    write_traces(dr_bernard, 2)
    integrity.seal_pending()
    maintenance("UPDATE audit_auditseal SET prev_hash = %s", ["f" * 64])
    assert not integrity.verify().ok


@committed
def test_seals_chain_batches_and_cover_every_trace_once(dr_bernard, settings):
    settings.AUDIT_SEAL_MAX_ROWS = 2
    for _ in range(3):
        write_traces(dr_bernard, 1)
    assert integrity.seal_pending() == 3
    seals = list(AuditSeal.objects.order_by("id"))
    assert [s.count for s in seals] == [2, 1]
    assert seals[1].prev_hash == seals[0].hash
    assert integrity.seal_pending() == 0


@committed
def test_traces_of_a_transaction_still_running_are_not_sealed(dr_bernard):
    with transaction.atomic():
        audit.record(actor=dr_bernard, action=Action.READ, mode=Mode.CARE_TEAM)
        assert integrity.seal_pending() == 0  # its own transaction is still open
    assert integrity.seal_pending() == 1


@committed
def test_verify_audit_prints_ok_or_the_first_broken_trace(dr_bernard):
    events = write_traces(dr_bernard, 3)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("OK: 3 traces verified")
    maintenance("UPDATE audit_auditevent SET mode = 'emergency' WHERE id = %s", [events[0].pk])
    with pytest.raises(CommandError, match=f"BROKEN at trace #{events[0].pk}"):
        call_command("verify_audit")


@committed
def test_verify_audit_exits_non_zero_on_a_break(dr_bernard):
    events = write_traces(dr_bernard, 2)
    integrity.seal_pending()
    maintenance("UPDATE audit_auditevent SET reason = 'edited' WHERE id = %s", [events[1].pk])
    with pytest.raises(SystemExit) as exited:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["manage.py", "verify_audit"])
    assert exited.value.code == 1


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused(dr_bernard):
    with pytest.raises(audit.TraceOutsideTransaction):
        audit.record(actor=dr_bernard, action=Action.READ, mode=Mode.CARE_TEAM)
    assert not AuditEvent.objects.exists()


def test_if_the_trace_cannot_be_written_the_record_is_not_shown(
    client, dr_bernard, camille, discharge_letter, monkeypatch
):
    def broken_insert(self, *args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(AuditEvent, "save", broken_insert)
    client.raise_request_exception = False
    client.force_login(dr_bernard)
    response = client.get(reverse("records:patient_record", args=[camille.public_id]))
    assert response.status_code == 500
    assert "Fibrillation" not in response.content.decode()
    assert discharge_letter.body not in response.content.decode()


def test_if_the_trace_cannot_be_written_the_api_shows_nothing(api, dr_bernard, camille, discharge_letter, monkeypatch):
    monkeypatch.setattr(AuditEvent, "save", lambda self, *a, **k: (_ for _ in ()).throw(DatabaseError("down")))
    api.raise_request_exception = False
    response = api.as_user(dr_bernard).get(f"/api/v1/reports/{discharge_letter.public_id}/")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert discharge_letter.body not in response.content.decode()


def test_the_role_setup_leaves_the_application_only_select_and_insert_on_traces(dr_bernard):
    write_traces(dr_bernard, 1)
    out = io.StringIO()
    call_command("audit_db_roles", "--app-role", "chu_test_app", "--maintenance-role", "chu_test_maint", stdout=out)
    assert "REVOKE UPDATE, DELETE, TRUNCATE" in out.getvalue()
    call_command(
        "audit_db_roles",
        "--apply",
        "--app-role",
        "chu_test_app",
        "--maintenance-role",
        "chu_test_maint",
        stdout=io.StringIO(),
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL chu.audit_maintenance = 'on'")  # the trigger steps aside: only the grant is left
        cursor.execute("SET LOCAL ROLE chu_test_app")
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        assert cursor.fetchone()[0] == 1
        cursor.execute("SAVEPOINT before_update")
        with pytest.raises(DatabaseError, match="permission denied"):
            cursor.execute("UPDATE audit_auditevent SET reason = 'x'")
        cursor.execute("ROLLBACK TO SAVEPOINT before_update")
        cursor.execute("RESET ROLE")


def _read_then_trace_order(statements: list[str], table: str) -> tuple[int, int, int, int]:
    """Where the traced transaction opens, where `table` is read, traced, and where it closes."""
    opened = next(i for i, sql in enumerate(statements) if sql.startswith("SAVEPOINT"))
    read = next(
        i
        for i, sql in enumerate(statements)
        if sql.startswith("SELECT") and f' FROM "{table}"' in sql.split(" WHERE")[0]
    )
    traced = next(i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "audit_auditevent"'))
    closed = max(i for i, sql in enumerate(statements) if sql.startswith("RELEASE"))
    return opened, read, traced, closed


@pytest.mark.parametrize("what", ["report", "stay", "identity", "dmp_document", "dmp_file", "fhir_patient"])
def test_what_is_shown_is_read_inside_the_transaction_that_traces_it(
    dr_bernard, dr_moreau, camille, camille_stay, discharge_letter, what, settings, tmp_path
):
    """Every single-object read goes through audit.read_traced: read, decision and trace commit together."""
    from django.test.utils import CaptureQueriesContext

    from fhir import services as fhir_services

    settings.MEDIA_ROOT = tmp_path
    record = dmp_records.shared_record_for(camille)
    designate_gp(record, dr_moreau)
    document = documents.chu_document_file(report=discharge_letter)
    reads = {
        "report": (
            lambda: reports.report_open(actor=dr_bernard, report_id=discharge_letter.public_id),
            "records_report",
        ),
        "stay": (lambda: reports.stay_for_writing(actor=dr_bernard, stay_id=camille_stay.public_id), "records_stay"),
        "identity": (lambda: patients.patient_get(actor=dr_bernard, patient_id=camille.public_id), "records_patient"),
        "dmp_document": (
            lambda: documents.document_open(actor=dr_moreau, document_id=document.public_id),
            "dmp_shareddocument",
        ),
        "dmp_file": (
            lambda: documents.document_content(actor=dr_moreau, document_id=document.public_id)[1].close(),
            "dmp_shareddocument",
        ),
        "fhir_patient": (
            lambda: fhir_services.patient_read(actor=dr_moreau, patient_id=camille.public_id),
            "records_patient",
        ),
    }
    read, table = reads[what]
    with CaptureQueriesContext(connection) as captured:
        read()
    opened, selected, traced, closed = _read_then_trace_order([q["sql"] for q in captured.captured_queries], table)
    assert opened < selected < traced < closed


def test_a_read_whose_trace_fails_returns_nothing_and_a_refusal_is_traced_after_it(dr_bernard, camille, monkeypatch):
    from chu_portal.errors import AccessDenied, Decision

    loaded = []

    def load():
        loaded.append(camille)
        return camille

    def broken_insert(self, *args, **kwargs):
        raise DatabaseError("audit table unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(AuditEvent, "save", broken_insert)
        with pytest.raises(DatabaseError):
            audit.read_traced(
                actor=dr_bernard,
                action=Action.READ,
                object_type="patient_identity",
                load=load,
                decide=lambda patient: Decision.allow(Mode.CARE_TEAM),
                describe=lambda patient: (patient.public_id, patient.public_id),
            )
    assert loaded == [camille] and not AuditEvent.objects.exists()
    with pytest.raises(AccessDenied):
        audit.read_traced(
            actor=dr_bernard,
            action=Action.READ,
            object_type="patient_identity",
            load=load,
            decide=lambda patient: Decision.deny("forbidden", "Non."),
            describe=lambda patient: (patient.public_id, patient.public_id),
        )
    refusal = AuditEvent.objects.get()
    assert refusal.outcome == "denied" and refusal.patient_id == camille.public_id
