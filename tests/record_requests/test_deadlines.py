"""The legal deadlines at their edges (CSP L.1111-7, R.1111-1), with the clock frozen as the rest of the suite does."""

import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from record_requests import access, deadlines
from record_requests.constants import Delivery, RequestStatus
from record_requests.models import RecordBundle
from record_requests.services import requests

from ..factories import StayFactory

PARIS = ZoneInfo("Europe/Paris")


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=PARIS)


def test_eight_days_from_the_day_received_and_the_48_hours_are_a_floor():
    due = deadlines.compute(at(2026, 3, 3, 16, 30), at(2025, 1, 1))
    assert due.due_on == datetime.date(2026, 3, 11) and not due.long_delay
    assert due.earliest_release_at == at(2026, 3, 5, 16, 30)


def test_five_years_to_the_day_is_not_more_than_five_years_one_day_more_is():
    received = at(2026, 3, 3, 10, 0)
    exactly = deadlines.compute(received, at(2021, 3, 3, 10, 0))
    assert not exactly.long_delay and exactly.due_on == datetime.date(2026, 3, 11)
    older = deadlines.compute(received, at(2021, 3, 2, 10, 0))
    assert older.long_delay and older.due_on == datetime.date(2026, 5, 3)


def test_thirty_first_of_december_plus_two_months_is_the_end_of_february():
    assert deadlines.compute(at(2026, 12, 31, 9, 0), at(2001, 1, 1)).due_on == datetime.date(2027, 2, 28)
    assert deadlines.compute(at(2027, 12, 31, 9, 0), at(2001, 1, 1)).due_on == datetime.date(2028, 2, 29)


def test_overdue_the_day_after_the_due_day_not_on_it():
    due_on = datetime.date(2026, 3, 11)
    assert not deadlines.is_overdue(due_on, False, at(2026, 3, 11, 23, 59))
    assert deadlines.is_overdue(due_on, False, at(2026, 3, 12, 0, 0))
    assert not deadlines.is_overdue(due_on, True, at(2026, 6, 1, 0, 0))


@pytest.mark.parametrize(
    "age, long_delay",
    [(datetime.timedelta(0), False), (datetime.timedelta(days=1), True)],
    ids=["five-years-to-the-day", "one-day-more"],
)
def test_a_request_freezes_its_deadline_from_its_oldest_stay(camille, cardiology, age, long_delay):
    received = at(2026, 3, 3, 10, 0)
    StayFactory(patient=camille, unit=cardiology, admitted_at=at(2021, 3, 3, 10, 0) - age, discharged_at=None)
    StayFactory(patient=camille, unit=cardiology, admitted_at=at(2026, 1, 5, 8, 0))
    with mock.patch("django.utils.timezone.now", return_value=received):
        request = requests.request_create(actor=camille.account)
    assert request.received_at == received and request.long_delay is long_delay
    assert request.due_on == (datetime.date(2026, 5, 3) if long_delay else datetime.date(2026, 3, 11))
    assert request.earliest_release_at == at(2026, 3, 5, 10, 0)
    assert request.stays.count() == 2 and request.all_stays


def test_the_copy_is_not_released_one_instant_before_the_48_hours(camille, camille_stay):
    received = at(2026, 3, 3, 10, 0)
    with mock.patch("django.utils.timezone.now", return_value=received):
        request = requests.request_create(actor=camille.account, delivery=Delivery.DOWNLOAD)
    request.status = RequestStatus.AVAILABLE
    request.save()
    bundle = RecordBundle.objects.create(
        request=request, progress=100, file="x.pdf", sha256="0" * 64, made_at=received + datetime.timedelta(hours=1)
    )
    edge = request.earliest_release_at
    early = access.decide_download(camille.account, bundle, edge - datetime.timedelta(microseconds=1))
    assert not early.allowed and early.code == "reflection_period" and early.status == 409
    assert access.decide_download(camille.account, bundle, edge).allowed


def test_received_late_in_the_evening_counts_from_that_day_in_paris(camille, camille_stay):
    late = at(2026, 3, 3, 23, 30)  # 22:30 UTC
    with mock.patch("django.utils.timezone.now", return_value=late.astimezone(datetime.UTC)):
        request = requests.request_create(actor=camille.account)
    assert timezone.localdate(request.received_at) == datetime.date(2026, 3, 3)
    assert request.due_on == datetime.date(2026, 3, 11)
