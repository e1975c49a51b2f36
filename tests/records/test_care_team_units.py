"""records.access.care_team_units: the units holding a patient's open or recent stay (the care team's
units, CSP L.1110-4 / L.1110-12), the admitting unit and each unit the stay moved through, in SQL."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from records.access import care_team_units
from records.models import StayMovement
from tests.factories import StayFactory, UnitFactory


def codes(patient, now=None):
    return set(care_team_units(patient, now).values_list("code", flat=True))


def test_the_units_of_an_open_stay_and_every_unit_it_moved_through(camille, cardiology, orthopaedics):
    urgences = UnitFactory(code="URG", name="Urgences")
    UnitFactory(code="REA", name="Réanimation")
    stay = StayFactory(
        patient=camille, unit=urgences, admitted_at=timezone.now() - datetime.timedelta(days=3), discharged_at=None
    )
    StayMovement.objects.create(stay=stay, unit=cardiology, at=timezone.now() - datetime.timedelta(days=2))
    StayMovement.objects.create(stay=stay, unit=cardiology, at=timezone.now() - datetime.timedelta(days=1))
    assert codes(camille) == {"URG", "CARDIO"}
    assert care_team_units(camille).count() == 2  # no duplicate for two movements into one unit


def test_a_recent_stay_counts_for_its_window_then_not(camille, camille_stay, settings):
    settings.RECORDS_RECENT_STAY_DAYS = 30
    assert codes(camille) == {"CARDIO"}  # discharged 5 days ago
    assert codes(camille, now=camille_stay.discharged_at + datetime.timedelta(days=31)) == set()
    assert codes(camille, now=camille_stay.admitted_at - datetime.timedelta(days=1)) == set()  # not admitted yet


def test_another_patients_stays_do_not_count(camille, other_patient, orthopaedics):
    StayFactory(patient=other_patient, unit=orthopaedics, discharged_at=None)
    assert codes(camille) == set()


def test_it_is_one_query_and_composes_in_sql(camille, camille_stay, dr_bernard, dr_leroy):
    with CaptureQueriesContext(connection) as ctx:
        list(care_team_units(camille))
    assert len(ctx.captured_queries) == 1
    units = care_team_units(camille)
    assert list(units.filter(staff__user=dr_bernard).values_list("code", flat=True)) == ["CARDIO"]
    assert not units.filter(staff__user=dr_leroy).exists()
