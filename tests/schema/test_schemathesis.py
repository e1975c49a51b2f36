"""Schemathesis over the live /api/schema/, authenticated, bounded: no server error, no response off its schema.

The schema is the one the app serves, loaded through WSGI (same process, same test transaction);
each operation gets a few generated requests (Hypothesis), sent with a real token.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation: about thirty operations, the whole run stays within a couple of minutes.
MAX_EXAMPLES = 6
LOGOUT = "/api/v1/auth/logout/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Its own rate limits: hundreds of generated calls must not be answered 429.
    settings.THROTTLE_RATES = dict.fromkeys(settings.THROTTLE_RATES)


@pytest.fixture
def live_schema(camille_stay, discharge_letter):
    # As Django's test client does: keep the test's connection (and its transaction) across requests.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _operations(schema):
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25  # the schema describes the whole API
    return operations


def _run(operation, headers_for, examples: int) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        case.call_and_validate(headers=headers_for(), checks=CHECKS)

    check()


@pytest.mark.parametrize("user", ["dr_bernard", "camille", "dpo"])
def test_the_api_keeps_to_its_schema(live_schema, request, user):
    person = request.getfixturevalue(user)
    account = getattr(person, "account", None) or person
    _token, raw = ApiToken.issue(account)
    headers = {"Authorization": f"Token {raw}"}
    for operation in _operations(live_schema):
        if operation.path == LOGOUT:
            continue
        _run(operation, lambda: headers, MAX_EXAMPLES)


def test_logout_keeps_to_its_schema_with_its_own_token(live_schema, dr_bernard):
    def fresh_token():
        _token, raw = ApiToken.issue(dr_bernard)  # logout revokes: a new token for every example
        return {"Authorization": f"Token {raw}"}

    (logout,) = [op for op in _operations(live_schema) if op.path == LOGOUT]
    _run(logout, fresh_token, 3)
