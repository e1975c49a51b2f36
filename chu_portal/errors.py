"""Access decisions and the errors services raise; pages and the API turn them into responses."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Decision:
    """The answer to "may X do A on Y": the mode it is allowed in, or why it is refused.

    `status` is 403 when the caller may know the object exists, 404 when it must not be
    revealed (docs/domain.md, "Refusals").
    """

    allowed: bool
    mode: str = ""
    code: str = ""
    message: str = ""
    status: int = 200
    can_break_glass: bool = False

    @classmethod
    def allow(cls, mode: str) -> Decision:
        return cls(allowed=True, mode=mode)

    @classmethod
    def deny(cls, code: str, message: str, *, status: int = 403, can_break_glass: bool = False) -> Decision:
        return cls(allowed=False, code=code, message=message, status=status, can_break_glass=can_break_glass)


class ServiceError(Exception):
    """A refusal or a bad request, with the API's error code and a message for people."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None, fields=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}


class AccessDenied(ServiceError):
    def __init__(self, decision: Decision):
        super().__init__(str(decision.message), code=decision.code, status=decision.status)
        self.decision = decision


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class InvalidInput(ServiceError):
    status = 400
    code = "invalid"


class NotFound(ServiceError):
    """Nothing matches what was asked (a lookup with no result): not an access refusal, though traced as one."""

    status = 404
    code = "not_found"


RATE_LIMITED_MESSAGE = _("Trop de demandes en peu de temps : réessayez dans quelques minutes.")


class RateLimited(ServiceError):
    """Too many requests of one kind (accounts/throttling.py): 429, with the seconds to wait (Retry-After)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str = "", *, retry_after: float | None = None):
        super().__init__(message or str(RATE_LIMITED_MESSAGE))
        self.retry_after = max(1, math.ceil(retry_after)) if retry_after else None
