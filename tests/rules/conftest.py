"""Fixtures of the rules tests: the DMP fixtures of tests/dmp, plus the two people issue 16 adds to the cast."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Profession, Role
from tests.dmp.conftest import _media, camille_dmp, dr_garnier, fed_letter, ph_fournier  # noqa: F401
from tests.factories import StayFactory, UnitFactory, professional


@pytest.fixture
def sec_blanc(cardiology):
    """The medical secretary of Cardiologie: CHU staff, no health profession."""
    return professional(
        role=Role.CHU_COLLABORATOR, profession=Profession.SECRETAIRE_MEDICALE, units=[cardiology], username="sec.blanc"
    )


@pytest.fixture
def emergencies(db):
    return UnitFactory(code="URG", name="Urgences")


@pytest.fixture
def dr_samu(emergencies):
    """A SAMU regulation doctor of the emergency unit."""
    user = professional(units=[emergencies], username="dr.samu")
    user.professional_profile.regulation = True
    user.professional_profile.save(update_fields=["regulation"])
    return user


@pytest.fixture
def open_stay(camille, emergencies):
    """Camille is in the emergency unit now (an open stay)."""
    return StayFactory(
        patient=camille, unit=emergencies, admitted_at=timezone.now() - datetime.timedelta(hours=3), discharged_at=None
    )
