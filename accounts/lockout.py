"""django-axes' handler with two thresholds: a username from an address, and an address across usernames."""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_parameters, get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class LockoutHandler(AxesDatabaseHandler):
    """Locks a (username, address) pair after AXES_FAILURE_LIMIT failures, as before, and an address
    after AXES_ADDRESS_FAILURE_LIMIT failures whatever the usernames (password spraying).

    django-axes compares one number with one limit: the address' count is reported as "at the limit"
    once it reaches its own threshold, and as nothing before (a busy ward behind one address is not
    locked by a few typos of several people).
    """

    def get_failures(self, request, credentials=None) -> int:
        username = get_client_username(request, credentials)
        filters = get_client_parameters(
            username, request.axes_ip_address, request.axes_user_agent, request, credentials
        )
        limit = get_failure_limit(request, credentials)
        failures = 0
        for kwargs, attempts in zip(filters, self.get_user_attempts(request, credentials), strict=True):
            count = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            if set(kwargs) == {"ip_address"}:
                if count >= settings.AXES_ADDRESS_FAILURE_LIMIT:
                    failures = max(failures, limit)
            else:
                failures = max(failures, count)
        return failures

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A successful sign-in clears that username's failures only: signing in to one's own account
        must not wipe an address' count of failures on others (the spraying threshold)."""
        username = get_client_username(request, credentials)
        filters = get_client_parameters(
            username, request.axes_ip_address, request.axes_user_agent, request, credentials
        )
        return sum(AccessAttempt.objects.filter(**kwargs).delete()[0] for kwargs in filters if "username" in kwargs)
