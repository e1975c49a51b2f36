"""Model-based test of identity vigilance (issue 19, point 3): histories of real service calls (the INSi seam's
retrieval, the ID document check, signing a fed letter) against a plain model of the four INS statuses.

The model imports nothing from the code under test: an identity is qualified exactly when its INS was retrieved
(the registry answered with the same traits) and its document checked; a letter waits for a qualified identity
and goes when it becomes one. Each example runs inside a savepoint rolled back at its end (as in
test_rules_machine.py, refusal traces land in it).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from audit.models import AuditEvent
from chu_portal.errors import Conflict
from dmp.models import FeedItem
from records.models import InsRegistryEntry, Patient
from records.services import patients, reports
from tests.factories import PatientFactory, ReportFactory, StayFactory, register_ins

pytestmark = pytest.mark.django_db


# --- The model (plain Python) --------------------------------------------------------------------


@dataclass
class Identity:
    registry: str = "absent"  # what the national service knows: "absent", "same" traits, or traits that "differ"
    retrieved: bool = False
    checked: bool = False
    letters: int = 0

    @property
    def status(self) -> str:
        return {
            (False, False): "provisional",
            (True, False): "retrieved",
            (False, True): "validated",
            (True, True): "qualified",
        }[(self.retrieved, self.checked)]

    def retrieve(self) -> bool:
        """Retrieval succeeds once, and only when the national traits are the same."""
        if self.retrieved or self.registry != "same":
            return False
        self.retrieved = True
        return True

    def check_document(self) -> bool:
        if self.checked:
            return False
        self.checked = True
        return True

    @property
    def waiting(self) -> int:
        return 0 if self.status == "qualified" else self.letters


# --- The machine -----------------------------------------------------------------------------------


class IdentityMachine(RuleBasedStateMachine):
    people: dict = {}

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic._from_testcase = True
        self._atomic.__enter__()
        self.model = Identity()
        self.patient = PatientFactory(
            birth_name="PETIT",
            first_names="Jules Antoine",
            birth_date=datetime.date(1990, 5, 3),
            sex="M",
            birth_place="69123",
            ins_status="provisional",
            identity_document_checked=False,
            identity_qualified_at=None,
        )
        self.stay = StayFactory(patient=self.patient, unit=self.people["unit"])

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def fresh(self) -> Patient:
        return Patient.objects.get(pk=self.patient.pk)

    @precondition(lambda self: not self.model.retrieved)
    @rule(kind=st.sampled_from(["absent", "same", "first_names", "birth_place", "birth_name"]))
    def national_registry(self, kind):
        """What INSi knows of these traits (before any retrieval): nothing, the same identity, or a difference."""
        InsRegistryEntry.objects.filter(nir=self.patient.nir).delete()
        changes = {"first_names": {"first_names": "Jules"}, "birth_place": {"birth_place": "69381"}}
        changes["birth_name"] = {"birth_name": "PETIT-MARTIN"}  # the search by traits finds nothing then
        if kind != "absent":
            register_ins(self.patient, **changes.get(kind, {}))
        self.model.registry = "same" if kind == "same" else "absent" if kind in ("absent", "birth_name") else "differ"

    @rule()
    def retrieve(self):
        expected = self.model.retrieve()
        try:
            patients.identity_retrieve_ins(actor=self.people["staff"], patient_id=self.patient.public_id)
            done = True
        except Conflict:
            done = False
        assert done == expected, f"retrieval: expected {'success' if expected else 'refusal'}"

    @rule()
    def check_document(self):
        expected = self.model.check_document()
        try:
            patients.identity_qualify(
                actor=self.people["staff"], patient_id=self.patient.public_id, document_checked=True
            )
            done = True
        except Conflict:
            done = False
        assert done == expected, f"document check: expected {'success' if expected else 'refusal'}"

    @rule()
    def sign_letter(self):
        draft = ReportFactory(
            stay=self.stay, author=self.people["doctor"], type_code="11490-0", status="draft", signed_at=None
        )
        reports.report_sign(actor=self.people["doctor"], report_id=draft.public_id)
        self.model.letters += 1

    @invariant()
    def the_status_is_the_models(self):
        patient = self.fresh()
        assert patient.ins_status == self.model.status
        assert (patient.ins_retrieved_at is not None) == self.model.retrieved
        assert patient.identity_document_checked == self.model.checked

    @invariant()
    def the_feed_waits_for_a_qualified_identity_only(self):
        items = FeedItem.objects.filter(patient=self.patient)
        assert items.count() == self.model.letters
        assert items.filter(status="waiting_identity").count() == self.model.waiting

    @invariant()
    def qualification_is_traced_once_and_only_when_qualified(self):
        traced = AuditEvent.objects.filter(
            patient_id=self.patient.public_id, action="qualify_identity", outcome="allowed"
        ).count()
        assert traced == (1 if self.model.status == "qualified" else 0)


def test_no_identity_is_qualified_without_a_retrieval_and_the_feed_waits(cardiology, dr_bernard, inf_roux):
    IdentityMachine.people = {"unit": cardiology, "doctor": dr_bernard, "staff": inf_roux}
    run_state_machine_as_test(
        IdentityMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
