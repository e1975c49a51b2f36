"""Each flag rule of the DPO console raises on its case and stays quiet on a normal one."""

import datetime
import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit import flags, selectors
from audit.models import AuditEvent

from .conftest import WORKDAY_MORNING, local


def reasons_of(event):
    annotated = flags.with_flags(AuditEvent.objects.filter(pk=event.pk)).get()
    return flags.reasons(annotated)


def test_a_care_team_read_in_working_hours_is_not_flagged(make_trace):
    assert reasons_of(make_trace()) == []


def test_an_emergency_access_is_flagged(make_trace):
    assert reasons_of(make_trace(mode="emergency", action="emergency_access")) == ["emergency_access"]


def test_a_samu_access_is_flagged(make_trace):
    assert reasons_of(make_trace(mode="samu")) == ["samu_access"]


def test_refusals_in_a_burst_are_flagged_from_the_threshold_on(make_trace, settings):
    settings.AUDIT_FLAG_REFUSAL_BURST_COUNT = 3
    settings.AUDIT_FLAG_REFUSAL_BURST_MINUTES = 10
    actor = uuid.uuid4()
    burst = [
        make_trace(actor_id=actor, outcome="denied", mode="", at=WORKDAY_MORNING + datetime.timedelta(minutes=m))
        for m in (0, 2, 4, 6)
    ]
    assert [bool(reasons_of(e)) for e in burst] == [False, False, True, True]
    assert reasons_of(burst[2]) == ["refusal_burst"]


def test_refusals_spread_over_time_or_actors_are_not_a_burst(make_trace, settings):
    settings.AUDIT_FLAG_REFUSAL_BURST_COUNT = 3
    settings.AUDIT_FLAG_REFUSAL_BURST_MINUTES = 10
    actor = uuid.uuid4()
    spread = [
        make_trace(actor_id=actor, outcome="denied", mode="", at=WORKDAY_MORNING + datetime.timedelta(minutes=m))
        for m in (0, 15, 30)
    ]
    others = [make_trace(outcome="denied", mode="", at=WORKDAY_MORNING) for _ in range(3)]
    assert all(reasons_of(e) == [] for e in spread + others)


def test_a_read_at_night_is_flagged(make_trace):
    assert reasons_of(make_trace(at=local(2026, 3, 10, 23, 30))) == ["out_of_hours"]


def test_a_read_on_sunday_is_flagged_when_weekends_count(make_trace, settings):
    sunday = local(2026, 3, 15, 11)
    settings.AUDIT_FLAG_WEEKENDS = True
    assert reasons_of(make_trace(at=sunday)) == ["out_of_hours"]
    settings.AUDIT_FLAG_WEEKENDS = False
    assert reasons_of(make_trace(at=sunday)) == []


def test_the_patient_reading_her_own_record_at_night_is_not_flagged(make_trace):
    assert reasons_of(make_trace(at=local(2026, 3, 10, 2), mode="self", actor_role="patient")) == []


def test_a_refused_read_at_night_is_not_an_out_of_hours_read(make_trace):
    assert reasons_of(make_trace(at=local(2026, 3, 10, 2), outcome="denied", mode="")) == []


def test_reading_many_distinct_patients_in_a_short_time_is_flagged(make_trace, settings):
    settings.AUDIT_FLAG_MANY_PATIENTS_COUNT = 5
    settings.AUDIT_FLAG_MANY_PATIENTS_MINUTES = 60
    actor = uuid.uuid4()
    reads = [make_trace(actor_id=actor, at=WORKDAY_MORNING + datetime.timedelta(minutes=5 * i)) for i in range(5)]
    assert [reasons_of(e) for e in reads[:4]] == [[], [], [], []]
    assert reasons_of(reads[4]) == ["many_patients"]


def test_reading_the_same_patient_many_times_is_not_many_patients(make_trace, settings):
    settings.AUDIT_FLAG_MANY_PATIENTS_COUNT = 5
    actor, patient = uuid.uuid4(), uuid.uuid4()
    reads = [
        make_trace(actor_id=actor, patient_id=patient, at=WORKDAY_MORNING + datetime.timedelta(minutes=i))
        for i in range(8)
    ]
    assert all(reasons_of(e) == [] for e in reads)


def test_many_patients_spread_over_a_day_are_not_flagged(make_trace, settings):
    settings.AUDIT_FLAG_MANY_PATIENTS_COUNT = 5
    settings.AUDIT_FLAG_MANY_PATIENTS_MINUTES = 60
    actor = uuid.uuid4()
    reads = [make_trace(actor_id=actor, at=WORKDAY_MORNING + datetime.timedelta(minutes=61 * i)) for i in range(5)]
    assert all("many_patients" not in reasons_of(e) for e in reads)


def test_an_in_person_consent_is_flagged_but_not_the_reads_under_it(make_trace):
    recorded = make_trace(mode="in_person_consent", action="create", object_type="access_grant")
    read = make_trace(mode="in_person_consent", action="read", object_type="dmp_document")
    assert reasons_of(recorded) == ["in_person_consent"]
    assert reasons_of(read) == []


def test_a_page_of_fifty_traces_costs_one_query_whatever_the_flags(make_trace):
    actor = uuid.uuid4()
    for i in range(50):
        make_trace(actor_id=actor, outcome="denied" if i % 2 else "allowed", at=local(2026, 3, 10, 22, i % 60))
    with CaptureQueriesContext(connection) as queries:
        page = list(selectors.events(selectors.TraceFilter())[:50])
        labels = [flags.reasons(e) for e in page]
    assert len(queries) == 1
    assert any("refusal_burst" in codes for codes in labels)
    assert any("out_of_hours" in codes for codes in labels)


def test_the_flagged_filter_keeps_only_flagged_traces(make_trace):
    quiet = make_trace()
    loud = make_trace(mode="emergency", action="emergency_access")
    found = list(selectors.events(selectors.TraceFilter(flagged=True)))
    assert loud in found
    assert quiet not in found
