"""Rate limits on the portal's oracles: DRF's throttling on the Django cache (Redis; local memory embedded).

Each limit is a `SimpleRateThrottle` whose rate is read from `settings.THROTTLE_RATES[scope]` at every
request (None: no limit) and whose cache key is an HMAC of what it counts (a user, an INS, a client
address: nothing readable is stored in the cache). API views list them in `throttle_classes` (DRF
answers 429 with Retry-After); pages and services call `limit()` / `limit_request()`, which raise
`RateLimited` (429 with Retry-After on pages and in the API alike). The first refusal of a window is
traced, flagged for the DPO (`rate_limited`): a burst against an oracle is a security event.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from rest_framework.throttling import SimpleRateThrottle

from audit import services as audit
from audit.constants import Action
from chu_portal.client_ip import client_ip
from chu_portal.errors import RateLimited

# Scopes (settings.THROTTLE_RATES keys, README "Settings").
LOOKUP_USER = "lookup_user"
LOOKUP_INS = "lookup_ins"
TOKEN = "token"
PASSWORD_RESET = "password_reset"
ACTIVATION = "activation"
CONSENT_REQUEST = "consent_request"
# A patient naming trusted representatives by username: every attempt counts, found or not (not an oracle of accounts).
TRUSTED_NAMING = "trusted_naming"


class PortalThrottle(SimpleRateThrottle):
    """A rate limit of `scope`, counting `ident` (given, or taken from the request by a subclass)."""

    scope = ""

    def __init__(self, scope: str | None = None, ident=None, actor=None):
        # DRF instantiates with no argument; the rate is read at each request (tests change settings).
        if scope:
            self.scope = scope
        self.fixed_ident = ident
        self.actor = actor

    def get_rate(self):
        return settings.THROTTLE_RATES.get(self.scope)

    def ident_of(self, request, view):
        return self.fixed_ident

    def get_cache_key(self, request, view):
        ident = self.ident_of(request, view)
        if ident is None or ident == "":
            return None
        digest = salted_hmac("accounts.throttling", f"{self.scope}:{ident}", algorithm="sha256").hexdigest()[:32]
        return f"{settings.THROTTLE_CACHE_PREFIX}:{self.scope}:{digest}"

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if super().allow_request(request, view):
            return True
        self._trace_burst(request)
        return False

    def _trace_burst(self, request) -> None:
        """Trace the first refusal of each window (a flood writes one flagged trace, not thousands)."""
        if not cache.add(f"{self.key}:traced", 1, self.duration):
            return
        user = self.actor or getattr(request, "user", None)
        actor = user if getattr(user, "is_authenticated", False) else None
        reason = f"{self.scope}: more than {self.rate}"
        if actor is not None:
            audit.record_refusal(
                actor=actor, action=Action.RATE_LIMITED, code="rate_limited", object_type=self.scope, reason=reason
            )
        else:
            address = client_ip(request) if request is not None else ""
            audit.record_security_event(
                action=Action.RATE_LIMITED, username="", code="rate_limited", reason=f"{reason} from {address}"
            )


class ClientAddressThrottle(PortalThrottle):
    """Counts the client's address (the configured proxy header, chu_portal/client_ip.py)."""

    def ident_of(self, request, view):
        return client_ip(request)


class UserThrottle(PortalThrottle):
    """Counts the signed-in user."""

    def ident_of(self, request, view):
        user = getattr(request, "user", None)
        return user.pk if getattr(user, "is_authenticated", False) else client_ip(request)


class TokenThrottle(ClientAddressThrottle):
    scope = TOKEN


class PasswordResetThrottle(ClientAddressThrottle):
    scope = PASSWORD_RESET


class ActivationThrottle(ClientAddressThrottle):
    scope = ACTIVATION


class ConsentRequestThrottle(UserThrottle):
    scope = CONSENT_REQUEST


def _refuse(throttle: PortalThrottle):
    raise RateLimited(retry_after=throttle.wait())


def limit(scope: str, ident, *, actor=None) -> None:
    """Count one request of `ident` under `scope`; RateLimited (429) past the rate. Services call it."""
    throttle = PortalThrottle(scope, ident, actor=actor)
    if not throttle.allow_request(None, None):
        _refuse(throttle)


def limit_request(throttle_class: type[PortalThrottle], request) -> None:
    """A page's check with an API view's throttle class; RateLimited (429) past the rate."""
    throttle = throttle_class()
    if not throttle.allow_request(request, None):
        _refuse(throttle)
