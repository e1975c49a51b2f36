"""RPPS numbers: 11 digits with a Luhn key; the national id is 8 + RPPS."""

import pytest
from django.core.exceptions import ValidationError

from accounts.validators import make_rpps, validate_rpps


def test_a_generated_rpps_is_valid():
    validate_rpps(make_rpps("1000000001"))


@pytest.mark.parametrize("value", ["1234567890", "123456789012", "1000000001a", ""])
def test_an_rpps_of_the_wrong_shape_is_refused(value):
    with pytest.raises(ValidationError):
        validate_rpps(value)


def test_an_rpps_with_a_wrong_key_is_refused():
    good = make_rpps("1000000001")
    with pytest.raises(ValidationError):
        validate_rpps(good[:10] + str((int(good[10]) + 1) % 10))


def test_the_national_id_prefixes_8(dr_bernard):
    assert dr_bernard.professional.national_id == "8" + dr_bernard.rpps
