"""Receivers: a login lockout (django-axes) is traced for the DPO."""

from axes.signals import user_locked_out
from django.dispatch import receiver

from audit import services as audit
from audit.constants import Action


@receiver(user_locked_out)
def trace_lockout(sender, request, username, ip_address, **kwargs):
    audit.record_security_event(
        action=Action.LOGIN_LOCKOUT, username=username or "", code="rate_limited", reason=f"from {ip_address}"
    )
