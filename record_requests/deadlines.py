"""The legal deadlines of a record request (CSP L.1111-7, R.1111-1): pure functions, no database.

- the answer is due within 8 calendar days of the complete request, 2 months when any requested
  information was constituted more than 5 years before the request;
- it is released no earlier than 48 hours after the request (the reflection period): a floor, not a due date.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.utils import timezone

REFLECTION = datetime.timedelta(hours=48)
SHORT_DELAY = relativedelta(days=8)
LONG_DELAY = relativedelta(months=2)
OLD_INFORMATION = relativedelta(years=5)


@dataclass(frozen=True)
class Deadlines:
    received_at: datetime.datetime
    earliest_release_at: datetime.datetime
    due_on: datetime.date
    long_delay: bool


def is_old(constituted_at: datetime.datetime | None, received_at: datetime.datetime) -> bool:
    """Information constituted more than 5 years before the request (strictly: 5 years to the day is not more)."""
    if constituted_at is None:
        return False
    return constituted_at < received_at - OLD_INFORMATION


def compute(received_at: datetime.datetime, oldest_information_at: datetime.datetime | None) -> Deadlines:
    """The deadlines of a request complete at `received_at` whose oldest requested information dates `oldest_information_at`.

    Days and months are counted on the calendar of Paris from the day the request was received: received on
    3 March, due on 11 March (8 days) or 3 May (2 months); 31 December + 2 months is 28 (or 29) February.
    """
    long_delay = is_old(oldest_information_at, received_at)
    day = timezone.localtime(received_at).date()
    due_on = day + (LONG_DELAY if long_delay else SHORT_DELAY)
    return Deadlines(
        received_at=received_at,
        earliest_release_at=received_at + REFLECTION,
        due_on=due_on,
        long_delay=long_delay,
    )


def is_overdue(due_on: datetime.date, answered: bool, now: datetime.datetime | None = None) -> bool:
    """Past its due day (Paris) and not answered yet."""
    if answered:
        return False
    today = timezone.localdate(now) if now else timezone.localdate()
    return today > due_on
