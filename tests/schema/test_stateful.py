"""Schemathesis's stateful phase: scenarios follow the schema's OpenAPI links from the operations that return an id
(created or listed) to those that take it, as a clinician and as a patient, on a budget of a couple of minutes.

Every step is checked as in test_schemathesis.py (no server error, declared status and content type, response
conforms to its schema). At the end, most operations that take an id in its path (REACHED_AT_LEAST) must have been called with an id
that a link carried from a real response: the links make the operations behind an id reachable.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiToken
from dmp.consent import requests
from records.services import care
from tests.dmp.conftest import grant

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
LOGOUT = "/api/v1/auth/logout/"
# Scenarios per user and steps per scenario: both runs together stay within about two minutes on two cores.
SCENARIOS = 100
STEPS = 15
REACHED_AT_LEAST = 0.6
KEPT_QUERY = {"ins", "birth_date", "box", "download"}


@pytest.fixture
def world(
    camille, camille_stay, camille_dmp, discharge_letter, fed_letter, dr_bernard, dr_leroy, dr_garnier, ph_fournier
):
    """Something behind each id: an opinion asked, a consent request pending (a notification), a grant."""
    care.opinion_request_create(
        actor=dr_bernard,
        stay_id=camille_stay.public_id,
        question="Avis sur la reprise du sport ?",
        consulted_unit_code="ORTHO",
    )
    requests.consent_request_create(actor=dr_garnier, patient_id=camille.public_id, purpose="Suivi")
    grant(camille_dmp, ph_fournier)


@pytest.fixture
def linked_schema(world):
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())

        @schema.hook
        def map_query(context, query):
            # Lists are read unfiltered from their first page, and a clinician finds a patient by name, as
            # people do (a random page or filter is empty: no id to follow). test_schemathesis.py fuzzes them.
            query = {k: v for k, v in (query or {}).items() if k in KEPT_QUERY}
            if context.operation is not None and context.operation.path == "/api/v1/patients/":
                query["q"] = "MARTIN"
            return query

        yield schema.exclude(path=LOGOUT)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def run_stateful(schema, account) -> dict[str, set[int]]:
    """Run the state machine as `account`; the statuses each operation answered to a linked id."""
    _token, raw = ApiToken.issue(account)
    headers = {"Authorization": f"Token {raw}"}
    reached: dict[str, set[int]] = {}

    class Machine(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def step(self, input):
            output = super().step(input)
            if input.transition is not None and input.is_applied:  # the id came from a linked response
                label = f"{input.case.method.upper()} {input.case.operation.path}"
                reached.setdefault(label, set()).add(output.response.status_code)
            return output

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Machine.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
    )
    return reached


def test_stateful_scenarios_reach_the_operations_behind_an_id(linked_schema, dr_bernard, camille):
    taking_an_id = {
        f"{op.method.upper()} {op.path}"
        for op in (result.ok() for result in linked_schema.get_all_operations())
        if "{" in op.path
    }
    reached: dict[str, set[int]] = {}
    for account in (dr_bernard, camille.account):
        for label, statuses in run_stateful(linked_schema, account).items():
            reached.setdefault(label, set()).update(statuses)
    missed = taking_an_id - set(reached)
    # Without links none was reached (issue 17's outside run: 30 of 41). On this budget the random walk reaches
    # most; a chain three links deep (search -> record -> report -> sign) is not reached every run.
    assert len(reached) >= REACHED_AT_LEAST * len(taking_an_id), f"never called with a linked id: {sorted(missed)}"
