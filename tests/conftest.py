"""The test cast (docs/architecture.md, "Adding an endpoint"): a patient, her care team, an outsider, her GP, the DPO."""

import datetime

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import ApiToken, Profession, Role
from records.constants import ReportStatus, ReportType

from .factories import (
    TOTP_KEY,
    DiagnosisFactory,
    PatientFactory,
    ProcedureFactory,
    ReportFactory,
    StayFactory,
    UnitFactory,
    UserFactory,
    professional,
)


class VerifiedClient(Client):
    """force_login also passes the second factor; login passes the request django-axes needs."""

    def login(self, **credentials):
        request = HttpRequest()
        request.META["REMOTE_ADDR"] = "127.0.0.1"
        return super().login(request=request, **credentials)

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher():
    """Passwords are hashed with a fast hasher in tests, as Django advises: the production PBKDF2 (a million
    rounds) costs about a second per hash on the CI machine, and every factory user, demo seed and sign-in
    hashes one. Production keeps its hashers (settings.PASSWORD_HASHERS untouched)."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _throttle_keys_of_this_test(settings):
    """Rate limits count in the shared Redis cache: each test counts under its own key prefix."""
    import uuid

    settings.THROTTLE_CACHE_PREFIX = f"throttle-test-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the portal's default language (French): a request in English leaves its
    language active in the thread, which would translate the next test's messages."""
    from django.utils import translation

    translation.activate(settings_language())
    yield
    translation.activate(settings_language())


def settings_language() -> str:
    from django.conf import settings

    return settings.LANGUAGE_CODE


@pytest.fixture(autouse=True)
def _postgres_only(request):
    """The suite runs against PostgreSQL (triggers, roles, snapshots): say so when it does not."""
    if "django_db_setup" in request.fixturenames and connection.vendor != "postgresql":
        pytest.fail("the test suite needs PostgreSQL: run it with the README's test command (make test)")


@pytest.fixture(autouse=True)
def _access_matrix(request):
    """A transactional test's flush empties the access matrices that data migrations seed: put them back.

    (Without this, a test after a live-server or transactional test would see no document at all.)
    """
    names = request.fixturenames
    if "_django_db_helper" in names:
        request.getfixturevalue("_django_db_helper")
    elif "db" in names or "transactional_db" in names:
        request.getfixturevalue("transactional_db" if "transactional_db" in names else "db")
    else:
        return
    import importlib

    from django.apps import apps

    from dmp.models import AccessMatrixEntry, ProfileMatrixEntry

    if not AccessMatrixEntry.objects.exists():
        importlib.import_module("dmp.migrations.0002_access_matrix_default").seed(apps, None)
    if not ProfileMatrixEntry.objects.exists():
        importlib.import_module("dmp.migrations.0009_designations").seed_profile_matrix(apps, None)
    from dmp import matrix

    matrix.forget()  # a flushed and re-seeded matrix: no cached copy of another test's survives (dmp/matrix.py)


@pytest.fixture
def client():
    """A test client whose force_login also passes the second factor when the user has one."""
    return VerifiedClient()


@pytest.fixture
def dpo(db):
    user = UserFactory(role=Role.DPO, username="dpo.mercier")
    TOTPDevice.objects.create(user=user, name="authenticator", key=TOTP_KEY, confirmed=True)
    return user


@pytest.fixture
def cardiology(db):
    return UnitFactory(code="CARDIO", name="Cardiologie")


@pytest.fixture
def orthopaedics(db):
    return UnitFactory(code="ORTHO", name="Orthopédie")


@pytest.fixture
def dr_bernard(cardiology):
    return professional(units=[cardiology], username="dr.bernard", first_name="Sophie", last_name="Bernard")


@pytest.fixture
def inf_roux(cardiology):
    return professional(
        role=Role.CHU_COLLABORATOR, profession=Profession.INFIRMIER, units=[cardiology], username="inf.roux"
    )


@pytest.fixture
def dr_leroy(orthopaedics):
    return professional(units=[orthopaedics], username="dr.leroy", first_name="Marc", last_name="Leroy")


@pytest.fixture
def dr_moreau(db):
    return professional(role=Role.EXTERNAL_PROFESSIONAL, username="dr.moreau")


@pytest.fixture
def camille(db):
    account = UserFactory(role=Role.PATIENT, username="camille.martin", first_name="Camille", last_name="Martin")
    return PatientFactory(
        birth_name="MARTIN", first_names="Camille", birth_date=datetime.date(1984, 3, 12), account=account
    )


@pytest.fixture
def other_patient(db):
    account = UserFactory(role=Role.PATIENT, username="jules.petit")
    return PatientFactory(birth_name="PETIT", first_names="Jules", sex="M", account=account)


@pytest.fixture
def camille_stay(camille, cardiology):
    """A finished Cardiologie stay, discharged 5 days ago (inside the recent-stay window)."""
    stay = StayFactory(
        patient=camille,
        unit=cardiology,
        admitted_at=timezone.now() - datetime.timedelta(days=12),
        discharged_at=timezone.now() - datetime.timedelta(days=5),
    )
    DiagnosisFactory(stay=stay, code="I48.0", label="Fibrillation atriale paroxystique", principal=True)
    ProcedureFactory(stay=stay)
    return stay


@pytest.fixture
def discharge_letter(camille_stay, dr_bernard):
    return ReportFactory(stay=camille_stay, author=dr_bernard, type_code=ReportType.DISCHARGE_LETTER)


@pytest.fixture
def draft_report(camille_stay, dr_bernard):
    return ReportFactory(
        stay=camille_stay,
        author=dr_bernard,
        type_code=ReportType.IMAGING_REPORT,
        title="Échocardiographie",
        status=ReportStatus.DRAFT,
        signed_at=None,
    )


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` authenticates with a real token."""

    class Client(APIClient):
        def as_user(self, user):
            _token, raw = ApiToken.issue(user)  # issued as the token endpoint does after the second factor
            self.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
            return self

    return Client()
