"""Validators of professional identifiers."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import luhn


def validate_rpps(value: str) -> None:
    """RPPS: 11 digits, the last one a Luhn check digit (the national id is '8' + RPPS)."""
    if not (isinstance(value, str) and len(value) == 11 and value.isdigit()):
        raise ValidationError(_("Le numéro RPPS doit comporter 11 chiffres."), code="invalid")
    if not luhn.is_valid(value):
        raise ValidationError(_("La clé de contrôle du numéro RPPS est incorrecte."), code="invalid")


def make_rpps(prefix10: str) -> str:
    """Complete 10 digits with their Luhn key (synthetic professionals in the demo and tests)."""
    return prefix10 + luhn.calc_check_digit(prefix10)
