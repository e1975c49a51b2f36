"""The navigation's links to the record request pages: who sees the records office's queue and the secure inbox."""

from django import template

from .. import access

register = template.Library()


@register.simple_tag
def records_office_links(user) -> dict:
    """{"queue": the office's queue (its staff, and the CHU doctors who validate), "inbox": a doctor's secure inbox}.

    No query for a doctor (his profile is loaded for his display name); one for another CHU collaborator."""
    doctor = access.is_doctor(user)
    return {
        "queue": bool(user.is_chu_staff and (doctor or access.is_office_staff(user))),
        "inbox": bool(doctor and user.is_professional),
    }
