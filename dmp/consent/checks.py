"""Input checks and wording shared by the consent verbs (purpose, duration, who asks, no double access)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import User
from chu_portal.errors import Conflict, InvalidInput

from .. import access
from ..models import SharedRecord

PURPOSE_MAX = 500
REASON_MIN = 10


def professional_label(professional: User) -> str:
    """ "Dr Paul Garnier (Médecin, RPPS 10000000059)" for the patient's messages."""
    profile = professional.professional
    if profile is None:
        return professional.display_name
    return _("%(name)s (%(profession)s, RPPS %(rpps)s)") % {
        "name": professional.display_name,
        "profession": profile.get_profession_display(),
        "rpps": profile.rpps,
    }


def clean_purpose(purpose: str) -> str:
    """The request's purpose, whitespace collapsed; required and at most PURPOSE_MAX characters."""
    purpose = " ".join((purpose or "").split())
    if not purpose:
        message = _("Indiquez le motif de la demande.")
        raise InvalidInput(message, fields={"purpose": message})
    if len(purpose) > PURPOSE_MAX:
        message = _("Le motif ne doit pas dépasser %(n)d caractères.") % {"n": PURPOSE_MAX}
        raise InvalidInput(message, fields={"purpose": message})
    return purpose


def clean_duration(duration_days) -> int:
    """The grant's duration in days: the default when empty, else between 1 and DMP_GRANT_MAX_DAYS."""
    if duration_days in (None, ""):
        return settings.DMP_GRANT_DEFAULT_DAYS
    try:
        days = int(duration_days)
    except (TypeError, ValueError):
        days = 0
    if days < 1 or days > settings.DMP_GRANT_MAX_DAYS:
        message = _("La durée doit être comprise entre 1 et %(max)d jours.") % {"max": settings.DMP_GRANT_MAX_DAYS}
        raise InvalidInput(message, fields={"duration_days": message})
    return days


def check_no_live_access(actor, record: SharedRecord) -> None:
    """Asking again while an authorisation runs is a state conflict, not a new question."""
    if access.has_gp_rights(actor, record):
        raise Conflict(_("Vous êtes le médecin traitant de ce patient : vous avez déjà accès à son DMP."))
    grant = access.live_grant(actor, record)
    if grant is not None:
        raise Conflict(
            _("Vous avez déjà l'autorisation du patient, jusqu'au %(d)s.")
            % {"d": date_format(timezone.localtime(grant.expires), "SHORT_DATE_FORMAT")}
        )
