"""The client's address: REMOTE_ADDR, or the configured proxy header (lockouts, throttles and traces use it)."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The address of the client, not of the proxy in front of the portal.

    With `CLIENT_IP_HEADER` set (`X-Forwarded-For` behind the hospital's TLS proxy), the address is
    the one `CLIENT_IP_PROXIES` hops from the right of that header (each trusted proxy appends the
    address it saw; what the client wrote on the left is not trusted). Anything unparsable falls
    back to REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    header = settings.CLIENT_IP_HEADER
    if not header:
        return remote
    value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
    hops = [part.strip() for part in value.split(",") if part.strip()]
    if not hops:
        return remote
    candidate = hops[-settings.CLIENT_IP_PROXIES] if len(hops) >= settings.CLIENT_IP_PROXIES else hops[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
