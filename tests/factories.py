"""factory-boy factories of synthetic people, stays and reports (valid NIR and RPPS keys, no real person)."""

import datetime
import random

import factory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from stdnum.fr import nir as stdnum_nir

from accounts.models import Profession, ProfessionalProfile, Role, Unit, User
from accounts.validators import make_rpps
from records import ins
from records.constants import InsStatus, ReportStatus, ReportType, Sex, StayKind
from records.models import Diagnosis, Patient, Procedure, Report, Stay

PASSWORD = "test-password-2026"


def synthetic_nir(sex: str, birth_date: datetime.date, department: str | None = None) -> str:
    department = department or f"{random.randint(1, 95):02d}".replace("20", "21")
    first13 = (
        ("1" if sex == Sex.MALE else "2")
        + f"{birth_date.year % 100:02d}{birth_date.month:02d}"
        + department
        + f"{random.randint(1, 990):03d}{random.randint(1, 999):03d}"
    )
    return first13 + stdnum_nir.calc_check_digits(first13 + "00")


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"U{n:03d}")
    name = factory.Sequence(lambda n: f"Unité {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    role = Role.PATIENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


_rpps_counter = iter(range(2_000_000_000, 2_999_999_999))


class ProfessionalFactory(factory.django.DjangoModelFactory):
    """A professional user with a profile; `units` lists the CHU units."""

    class Meta:
        model = ProfessionalProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, role=Role.CHU_CLINICIAN)
    rpps = factory.LazyFunction(lambda: make_rpps(str(next(_rpps_counter))))
    profession = Profession.MEDECIN

    @factory.post_generation
    def units(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted:
            obj.units.add(*extracted)


# Every test professional has this TOTP key (hex), like the demo cast's secret (README).
TOTP_KEY = "48656c6c6f21deadbeef"


def totp_code(key: str = TOTP_KEY) -> str:
    from binascii import unhexlify

    from django_otp.oath import totp

    return f"{totp(unhexlify(key)):06d}"


def professional(role=Role.CHU_CLINICIAN, profession=Profession.MEDECIN, units=(), **user_fields) -> User:
    profile = ProfessionalFactory(
        user__role=role, profession=profession, units=list(units), **{f"user__{k}": v for k, v in user_fields.items()}
    )
    TOTPDevice.objects.create(user=profile.user, name="authenticator", key=TOTP_KEY, confirmed=True)
    return profile.user


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    ipp = factory.Sequence(lambda n: f"9{n:09d}")
    birth_name = factory.Faker("last_name", locale="fr_FR")
    first_names = factory.Faker("first_name", locale="fr_FR")
    sex = Sex.FEMALE
    birth_date = factory.Faker("date_of_birth", minimum_age=1, maximum_age=99)
    nir = factory.LazyAttribute(lambda o: synthetic_nir(o.sex, o.birth_date))
    ins_status = InsStatus.QUALIFIED
    identity_document_checked = True
    identity_qualified_at = factory.LazyFunction(timezone.now)
    # Retrieved or qualified means the INS came through the INSi seam: dated, and in the local registry.
    ins_retrieved_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.ins_status in (InsStatus.RETRIEVED, InsStatus.QUALIFIED) else None
    )

    @factory.post_generation
    def registered(patient, create, extracted, **kwargs):
        """Put the patient's INS in the local INS registry (records/ins.py) when it was retrieved, or if asked."""
        if create and patient.nir and (extracted or (extracted is None and patient.ins_retrieved_at)):
            register_ins(patient)


def register_ins(patient: Patient, **changes):
    """The patient's identity in the local INS registry, as INSi would return it (`changes` alters a trait)."""
    traits = ins.Traits.of(patient)
    traits = ins.Traits(**{**traits.__dict__, **changes})
    return ins.register(nir=patient.nir, oid=patient.ins_oid, traits=traits)


class StayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stay

    patient = factory.SubFactory(PatientFactory)
    unit = factory.SubFactory(UnitFactory)
    kind = StayKind.HOSPITALISATION
    admitted_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=10))
    discharged_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=3))


class DiagnosisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Diagnosis

    stay = factory.SubFactory(StayFactory)
    code = "I48.0"
    label = "Fibrillation atriale paroxystique"


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Procedure

    stay = factory.SubFactory(StayFactory)
    code = "DEQP003"
    label = "Électrocardiographie sur au moins 12 dérivations"


class ReportFactory(factory.django.DjangoModelFactory):
    """A signed report by default; `status=ReportStatus.DRAFT, signed_at=None` for a draft."""

    class Meta:
        model = Report

    stay = factory.SubFactory(StayFactory)
    type_code = ReportType.DISCHARGE_LETTER
    title = "Lettre de liaison"
    body = "Sortie à domicile. Traitement inchangé."
    author = factory.LazyAttribute(lambda o: professional(units=[o.stay.unit]))
    status = ReportStatus.SIGNED
    signed_at = factory.LazyFunction(timezone.now)


def designate_gp(record, doctor, kind="gp"):
    """The patient proposes `doctor` for GP-level rights and he accepts, through the services (traced)."""
    from dmp.services import designations

    proposed = designations.designation_propose(actor=record.patient.account, rpps=doctor.rpps, kind=kind)
    return designations.designation_accept(actor=doctor, designation_id=proposed.public_id)
