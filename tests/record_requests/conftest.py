"""The cast of record requests: the medical records office (a collaborator and its doctor), a minor and her mother."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Profession, Role, Unit
from records.constants import RepresentationKind
from records.services import representatives

from ..factories import PatientFactory, StayFactory, UserFactory, professional


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def office(db):
    return Unit.objects.get(code=settings.RECORDS_OFFICE_UNIT_CODE)


@pytest.fixture
def clerk(office):
    """A collaborator of the records office: runs the queue, records heirs' files, never validates."""
    return professional(
        role=Role.CHU_COLLABORATOR,
        profession=Profession.SECRETAIRE_MEDICALE,
        units=[office],
        username="arch.lambert",
        first_name="Nadia",
        last_name="Lambert",
    )


@pytest.fixture
def office_doctor(office):
    return professional(units=[office], username="dr.archives", first_name="Hélène", last_name="Vidal")


@pytest.fixture
def old_stay(camille, orthopaedics):
    """An orthopaedics stay of six years ago: information older than 5 years (2 months to answer)."""
    admitted = timezone.now() - datetime.timedelta(days=6 * 366)
    return StayFactory(
        patient=camille, unit=orthopaedics, admitted_at=admitted, discharged_at=admitted + datetime.timedelta(days=4)
    )


def _fifteen_years_ago() -> datetime.date:
    today = timezone.localdate()
    return today.replace(year=today.year - 15) - datetime.timedelta(days=40)


@pytest.fixture
def lucas(db):
    account = UserFactory(role=Role.PATIENT, username="lucas.martin", first_name="Lucas", last_name="Martin")
    return PatientFactory(
        birth_name="MARTIN", first_names="Lucas", sex="M", birth_date=_fifteen_years_ago(), account=account
    )


@pytest.fixture
def lucas_stays(lucas, cardiology):
    ordinary = StayFactory(patient=lucas, unit=cardiology)
    secret = StayFactory(patient=lucas, unit=cardiology, secret_from_representatives=True)
    return ordinary, secret


@pytest.fixture
def mother(camille, lucas, inf_roux):
    """Camille recorded at the desk as Lucas's mother (parental authority checked)."""
    return representatives.representation_record(
        actor=inf_roux,
        patient_id=lucas.public_id,
        representative=camille.account.username,
        kind=RepresentationKind.PARENT,
        relation="mère",
        identity_checked=True,
    )
