"""Per-request context (client address, request id) that every trace records."""

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    request_id: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("audit_request", default=RequestContext())  # noqa: B039 - frozen


def current() -> RequestContext:
    return _current.get()


def set_current(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)
