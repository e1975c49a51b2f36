"""`manage.py seed_demo`: create the demo cast of the README (synthetic people), idempotently."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from stdnum.fr import nir as stdnum_nir

from accounts.models import Profession, ProfessionalProfile, Role, Unit, User
from accounts.validators import make_rpps
from dmp.constants import DocumentSource, DocumentType, RecordStatus
from dmp.feed import delivery, outbox
from dmp.models import SharedDocument, SharedRecord
from dmp.services import designations, documents, record_settings, records
from record_requests import tasks as rr_tasks
from record_requests.constants import (
    ANSWERED_STATUSES,
    RECORDS_OFFICE_UNIT_NAME,
    Delivery,
    RequesterKind,
    RequestStatus,
)
from record_requests.models import RecordBundle, RecordRequest
from record_requests.services import office as rr_office
from record_requests.services import requests as rr_requests
from records import ins
from records.constants import INS_OID_TEST, InsStatus, ReportType, RepresentationKind, Sex, StayKind
from records.models import Diagnosis, Patient, Procedure, Report, Representation, Stay
from records.services import reports as reports_service
from records.services import representatives

# README, "The demo cast": every demo professional's TOTP secret (base32), for an authenticator app.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"
UNITS = {"CARDIO": "Cardiologie", "ORTHO": "Orthopédie", "URG": "Urgences"}


@dataclass(frozen=True)
class Pro:
    username: str
    first: str
    last: str
    role: str
    profession: str
    rpps10: str
    specialty: str = ""
    units: tuple[str, ...] = ()
    regulation: bool = False  # a SAMU regulation doctor (ProfessionalProfile.regulation)


PROFESSIONALS = [
    Pro(
        "dr.bernard",
        "Sophie",
        "Bernard",
        Role.CHU_CLINICIAN,
        Profession.MEDECIN,
        "1000000001",
        "Cardiologie",
        ("CARDIO",),
    ),
    Pro("inf.roux", "Thomas", "Roux", Role.CHU_COLLABORATOR, Profession.INFIRMIER, "1000000002", "", ("CARDIO",)),
    Pro(
        "dr.leroy",
        "Marc",
        "Leroy",
        Role.CHU_CLINICIAN,
        Profession.MEDECIN,
        "1000000003",
        "Chirurgie orthopédique",
        ("ORTHO",),
    ),
    Pro(
        "dr.moreau", "Anne", "Moreau", Role.EXTERNAL_PROFESSIONAL, Profession.MEDECIN, "1000000004", "Médecine générale"
    ),
    Pro("dr.garnier", "Paul", "Garnier", Role.EXTERNAL_PROFESSIONAL, Profession.MEDECIN, "1000000005", "Cardiologie"),
    Pro(
        "ph.fournier",
        "Julie",
        "Fournier",
        Role.EXTERNAL_PROFESSIONAL,
        Profession.PHARMACIEN,
        "1000000006",
        "Pharmacie d'officine",
    ),
    # A medical secretary of Cardiologie: a CHU collaborator without a health profession.
    Pro(
        "sec.blanc",
        "Nadia",
        "Blanc",
        Role.CHU_COLLABORATOR,
        Profession.SECRETAIRE_MEDICALE,
        "1000000007",
        "",
        ("CARDIO",),
    ),
    # The medical records office (unit ARCH, issue 22): a secretary who runs the queue of requests for a copy of the
    # hospital record, and the office's doctor who validates what a copy holds.
    Pro(
        "archives.girard",
        "Martine",
        "Girard",
        Role.CHU_COLLABORATOR,
        Profession.SECRETAIRE_MEDICALE,
        "1000000009",
        "",
        ("ARCH",),
    ),
    Pro(
        "dr.faure",
        "Élise",
        "Faure",
        Role.CHU_CLINICIAN,
        Profession.MEDECIN,
        "1000000010",
        "Information médicale — archives",
        ("ARCH",),
    ),
    # A SAMU regulation doctor (centre 15): the SAMU mode of emergency access to the DMP; no CHU unit.
    Pro(
        "dr.samu",
        "Hugo",
        "Lambert",
        Role.EXTERNAL_PROFESSIONAL,
        Profession.MEDECIN,
        "1000000008",
        "Médecine d'urgence — régulation",
        regulation=True,
    ),
]


@dataclass(frozen=True)
class Person:
    username: str
    ipp: str
    birth_name: str
    first_names: str
    birth_date: datetime.date
    sex: str
    birth_place: str
    nir13: str
    ins_status: str


PATIENTS = [
    Person(
        "camille.martin",
        "8000000001",
        "MARTIN",
        "Camille Marie",
        datetime.date(1984, 3, 12),
        Sex.FEMALE,
        "75056",
        "2840375056123",
        InsStatus.QUALIFIED,
    ),
    Person(
        "jules.petit",
        "8000000002",
        "PETIT",
        "Jules Antoine",
        datetime.date(1990, 5, 3),
        Sex.MALE,
        "69123",
        "1900569123045",
        # His NIR was typed from his carte Vitale: not an INS until retrieved through INSi (his record page).
        InsStatus.PROVISIONAL,
    ),
    Person(
        "lea.dubois",
        "8000000003",
        "DUBOIS",
        "Léa",
        datetime.date(1992, 2, 21),
        Sex.FEMALE,
        "13055",
        "2920213055087",
        InsStatus.QUALIFIED,
    ),
]


def minor_person(today: datetime.date) -> Person:
    """Lucas Martin, Camille's son: 15 years and about five months old on the first seed's day (a minor whatever
    the year the demo runs), his synthetic NIR following his birth date (born in Paris, order 234)."""
    born = today.replace(year=today.year - 15) - datetime.timedelta(days=165)
    return Person(
        "lucas.martin",
        "8000000004",
        "MARTIN",
        "Lucas Paul",
        born,
        Sex.MALE,
        "75056",
        f"1{born.year % 100:02d}{born.month:02d}75056234",
        InsStatus.QUALIFIED,
    )


def synthetic_nir(first13: str) -> str:
    return first13 + stdnum_nir.calc_check_digits(first13 + "00")


class Command(BaseCommand):
    help = (
        "Create the demo cast of the README (idempotent). Refuses with DEBUG off; --force (the test suite) "
        "only while the published development key is in use, which production refuses to start with."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="seed with DEBUG off under the development key (the test suite)"
        )

    def handle(self, *args, **options):
        # The demo's password and TOTP secret are published: never outside development (docs/security.md).
        if not settings.DEBUG and not (options["force"] and settings.SECRET_KEY_IS_DEVELOPMENT):
            raise CommandError("seed_demo creates accounts with a public password: refused with DEBUG off.")
        self.now = timezone.now()
        with transaction.atomic():
            self.units = {
                code: Unit.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in UNITS.items()
            }
            # The records office's unit comes with its migration (record_requests 0002).
            self.units["ARCH"] = Unit.objects.get_or_create(
                code=settings.RECORDS_OFFICE_UNIT_CODE, defaults={"name": RECORDS_OFFICE_UNIT_NAME}
            )[0]
            self.users = {p.username: self._professional(p) for p in PROFESSIONALS}
            self.users["dpo.mercier"] = self._user("dpo.mercier", "Claire", "Mercier", Role.DPO)
            admin = self._user("admin", "", "Administrateur", Role.ADMIN)
            for user in [*self.users.values(), admin]:
                self._demo_totp(user)
            if not admin.is_superuser:
                admin.is_staff = admin.is_superuser = True
                admin.save(update_fields=["is_staff", "is_superuser"])
            self.patients = {p.username: self._patient(p) for p in PATIENTS}
            lucas = Patient.objects.filter(ipp="8000000004").first()  # seeded before: keep his birth date
            self.patients["lucas.martin"] = lucas or self._patient(minor_person(timezone.localdate()))
            stays = self._stays()
        # The DMP choices come first: the feed decides at signing (Léa's opposition skips her letter).
        self._dmp_settings()
        # Reports go through the services, as a clinician would write and sign them (each traced);
        # signing writes the feed's outbox row, delivered after commit (in-process when embedded).
        camille_letter = self._report(
            stays["camille_cardio"],
            "dr.bernard",
            ReportType.DISCHARGE_LETTER,
            "Lettre de liaison — Cardiologie",
            "Madame Martin, 42 ans, hospitalisée pour une fibrillation atriale paroxystique révélée par des "
            "palpitations. Réduction médicamenteuse, anticoagulation débutée (score CHA2DS2-VASc à 2).\n"
            "Traitement de sortie : apixaban 5 mg deux fois par jour, bisoprolol 2,5 mg le matin.\n"
            "Suivi : consultation de cardiologie dans 3 mois ; bilan rénal à 1 mois chez le médecin traitant.",
        )
        camille_imaging = self._report(
            stays["camille_cardio"],
            "dr.bernard",
            ReportType.IMAGING_REPORT,
            "Échocardiographie transthoracique",
            "Ventricule gauche non dilaté, fraction d'éjection estimée à 60 %. Oreillette gauche modérément "
            "dilatée. Pas de valvulopathie significative. Pas d'épanchement péricardique.",
        )
        jules_letter = self._report(
            stays["jules_ortho"],
            "dr.leroy",
            ReportType.DISCHARGE_LETTER,
            "Lettre de liaison — Orthopédie",
            "Monsieur Petit, opéré d'une fracture du col fémoral droit après une chute à vélo. Suites simples.\n"
            "Appui complet autorisé, kinésithérapie 2 fois par semaine, anticoagulation préventive 35 jours.",
        )
        lea_letter = self._report(
            stays["lea_cardio"],
            "dr.bernard",
            ReportType.DISCHARGE_LETTER,
            "Lettre de liaison — Cardiologie",
            "Madame Dubois, hospitalisée pour une péricardite aiguë. Évolution favorable sous colchicine et "
            "anti-inflammatoires. Repos sportif 3 mois.",
        )
        self._feed(camille_letter, camille_imaging, jules_letter, lea_letter)
        self._dmp(camille_imaging)
        self._representatives()
        self._record_requests()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo cast ready ({len(self.users) + 1 + len(self.patients)} accounts; password: {settings.DEMO_PASSWORD})."
            )
        )

    # --- People -----------------------------------------------------------------------------

    def _user(self, username: str, first: str, last: str, role: str) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "role": role,
                "email": f"{username}@demo.chu-portal.test",
            },
        )
        if created:
            user.set_password(settings.DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    @staticmethod
    def _demo_totp(user: User) -> None:
        key = base64.b32decode(DEMO_TOTP_SECRET).hex()
        TOTPDevice.objects.get_or_create(user=user, name="authenticator", defaults={"key": key, "confirmed": True})

    def _professional(self, pro: Pro) -> User:
        user = self._user(pro.username, pro.first, pro.last, pro.role)
        profile, _ = ProfessionalProfile.objects.get_or_create(
            user=user,
            defaults={
                "rpps": make_rpps(pro.rpps10),
                "profession": pro.profession,
                "specialty": pro.specialty,
                "regulation": pro.regulation,
            },
        )
        profile.full_clean()
        profile.units.add(*(self.units[code] for code in pro.units))
        return user

    def _patient(self, person: Person) -> Patient:
        user = self._user(person.username, person.first_names.split()[0], person.birth_name.title(), Role.PATIENT)
        traits = ins.Traits(
            birth_name=person.birth_name,
            first_names=person.first_names,
            birth_date=person.birth_date,
            sex=person.sex,
            birth_place=person.birth_place,
        )
        # Every demo identity is in the local INS registry (the INSi seam's national service, records/ins.py).
        ins.register(nir=synthetic_nir(person.nir13), oid=INS_OID_TEST, traits=traits)
        fields = {"nir": synthetic_nir(person.nir13), "ins_oid": INS_OID_TEST, "ins_status": InsStatus.PROVISIONAL}
        if person.ins_status == InsStatus.QUALIFIED:
            # Qualified before the demo starts: the INS came back through the seam and the ID document was checked.
            found = ins.client().retrieve(traits)
            if found is None or ins.differences(traits, found.traits):
                raise CommandError(f"{person.username}: the INS registry does not confirm this identity.")
            fields = {
                "nir": found.nir,
                "ins_oid": found.oid,
                "ins_status": InsStatus.QUALIFIED,
                "ins_retrieved_at": self.now,
                "identity_document_checked": True,
                "identity_qualified_at": self.now,
            }
        patient, _ = Patient.objects.get_or_create(
            ipp=person.ipp,
            defaults={
                "birth_name": person.birth_name,
                "first_names": person.first_names,
                "birth_date": person.birth_date,
                "sex": person.sex,
                "birth_place": person.birth_place,
                **fields,
                "account": user,
            },
        )
        patient.full_clean()
        return patient

    # --- Stays ------------------------------------------------------------------------------

    def _stay(
        self,
        patient: Patient,
        unit: str,
        kind: str,
        admitted_days_ago: float,
        discharged_days_ago: float | None,
        diagnoses: list[tuple[str, str]],
        procedures: list[tuple[str, str]],
    ) -> Stay:
        admitted = self.now - datetime.timedelta(days=admitted_days_ago)
        stay, created = Stay.objects.get_or_create(
            patient=patient,
            unit=self.units[unit],
            kind=kind,
            defaults={
                "admitted_at": admitted,
                "discharged_at": None
                if discharged_days_ago is None
                else self.now - datetime.timedelta(days=discharged_days_ago),
            },
        )
        if created:
            for index, (code, label) in enumerate(diagnoses):
                Diagnosis.objects.create(stay=stay, code=code, label=label, principal=index == 0)
            for code, label in procedures:
                Procedure.objects.create(
                    stay=stay, code=code, label=label, performed_at=admitted + datetime.timedelta(hours=6)
                )
        return stay

    def _stays(self) -> dict[str, Stay]:
        camille, jules, lea = (self.patients[k] for k in ("camille.martin", "jules.petit", "lea.dubois"))
        return {
            "camille_urg": self._stay(
                camille,
                "URG",
                StayKind.EMERGENCY,
                240,
                239.8,
                [("R07.4", "Douleur thoracique, sans précision")],
                [("DEQP003", "Électrocardiographie sur au moins 12 dérivations")],
            ),
            "camille_cardio": self._stay(
                camille,
                "CARDIO",
                StayKind.HOSPITALISATION,
                12,
                5,
                [("I48.0", "Fibrillation atriale paroxystique"), ("I10", "Hypertension essentielle (primitive)")],
                [
                    ("DEQP003", "Électrocardiographie sur au moins 12 dérivations"),
                    ("DZQM006", "Échographie-doppler transthoracique du cœur et des vaisseaux intrathoraciques"),
                ],
            ),
            "jules_ortho": self._stay(
                jules,
                "ORTHO",
                StayKind.HOSPITALISATION,
                6,
                1,
                [("S72.00", "Fracture du col du fémur, fermée")],
                [("NEKA020", "Remplacement de l'articulation coxofémorale par prothèse")],
            ),
            "lea_cardio": self._stay(
                lea,
                "CARDIO",
                StayKind.HOSPITALISATION,
                20,
                15,
                [("I30.9", "Péricardite aiguë, sans précision")],
                [("DZQM006", "Échographie-doppler transthoracique du cœur et des vaisseaux intrathoraciques")],
            ),
        }

    def _report(self, stay: Stay, author: str, type_code: str, title: str, body: str) -> Report:
        existing = Report.objects.filter(stay=stay, type_code=type_code).order_by("-version").first()
        if existing and existing.is_signed:
            return existing
        actor = self.users[author]
        draft = existing or reports_service.report_create_draft(
            actor=actor, stay_id=stay.public_id, type_code=type_code, title=title, body=body
        )
        # The demo's reports were discussed with the patient already: visible to her now (docs/domain.md, "Held reports").
        return reports_service.report_sign(actor=actor, report_id=draft.public_id, hold_from_patient=False)

    # --- DMP (issue 3) and the feed (issue 5) -----------------------------------------------

    def _dmp_settings(self) -> None:
        """Camille names her GP, who accepts; Léa, who has not activated her DMP, opposes it (before any report is
        signed, so nothing is fed)."""
        camille = self.patients["camille.martin"]
        record = records.shared_record_for(camille)
        if designations.gp_of(record) is None:
            moreau = self.users["dr.moreau"]
            proposed = designations.designation_propose(actor=camille.account, rpps=moreau.rpps)
            designations.designation_accept(actor=moreau, designation_id=proposed.public_id)
        # Camille and Jules activated their DMP (the code's seam: docs/decisions.md, "The DMP's life"); Léa
        # did not, and opposes it while it is still empty.
        for username in ("camille.martin", "jules.petit"):
            activated = records.shared_record_for(self.patients[username])
            if activated.activated_at is None:
                SharedRecord.objects.filter(pk=activated.pk).update(activated_at=self.now)
        lea = self.patients["lea.dubois"]
        if records.shared_record_for(lea).status != RecordStatus.OPPOSED:
            record_settings.record_settings_update(actor=lea.account, status=RecordStatus.OPPOSED)

    def _feed(self, *reports: Report) -> None:
        """The hospital documents arrive through the feed: Camille's delivered, Jules's letter waiting
        for his qualified identity, Léa's skipped (DMP opposed).

        Signing already wrote each outbox row; get-or-create here also covers a database seeded
        before the feed existed. Whatever no worker delivered yet (a real broker without a worker)
        is delivered in-process, so the demo is complete whatever the mode.
        """
        for report in reports:
            with transaction.atomic():
                outbox.feed_item_create(report=report)
        delivery.feed_deliver_pending()

    def _dmp(self, camille_imaging: Report) -> None:
        """Camille masks her imaging report and uploads her vaccination certificate."""
        camille = self.patients["camille.martin"]
        record = records.shared_record_for(camille)
        imaging = SharedDocument.objects.get(source_report_id=camille_imaging.public_id)
        if not imaging.masked:
            documents.document_mask(actor=camille.account, document_id=imaging.public_id)
        if not SharedDocument.objects.filter(record=record, source=DocumentSource.PATIENT).exists():
            documents.document_upload(
                actor=camille.account,
                record=record,
                uploaded=ContentFile(_certificate_pdf(camille), name="certificat-vaccination.pdf"),
                title="Certificat de vaccination",
                type_code=DocumentType.VACCINATION,
                event_date=datetime.date(2024, 10, 15),
            )

    def _representatives(self) -> None:
        """Camille is recorded at the desk as Lucas's mother (until his majority); Dr Moreau files two documents
        in his DMP, one kept secret from his parents at his request (CSP L.1111-5)."""
        lucas, camille = self.patients["lucas.martin"], self.patients["camille.martin"]
        if not Representation.objects.filter(patient=lucas, representative=camille.account).exists():
            representatives.representation_record(
                actor=self.users["inf.roux"],
                patient=lucas,
                representative=camille.account.username,
                kind=RepresentationKind.PARENT,
                relation="mère",
                identity_checked=True,
            )
        record = records.shared_record_for(lucas)
        moreau = self.users["dr.moreau"]
        for title, type_code, secret, lines in (
            (
                "Certificat médical de non contre-indication au sport",
                DocumentType.CONSULTATION_REPORT,
                False,
                ["Examen clinique normal.", "Pas de contre-indication à la pratique du football en compétition."],
            ),
            (
                "Consultation confidentielle",
                DocumentType.CONSULTATION_REPORT,
                True,
                [
                    "Consultation à la demande du patient, qui s'oppose à ce que ses parents en soient informés",
                    "(art. L.1111-5 du code de la santé publique). Dépistage réalisé, résultats négatifs.",
                ],
            ),
        ):
            if SharedDocument.objects.filter(record=record, title=title).exists():
                continue
            documents.document_upload(
                actor=moreau,
                record=record,
                uploaded=ContentFile(_note_pdf(lucas, title, lines), name="consultation.pdf"),
                title=title,
                type_code=type_code,
                event_date=timezone.localdate() - datetime.timedelta(days=20 if secret else 60),
                secret_from_representatives=secret,
            )

    def _record_requests(self) -> None:
        """Camille asked for a copy of her hospital record twice: ten days ago (validated by Dr Faure, the copy made
        and available to download) and today (waiting in the office's queue). Through the services: traced and
        notified like any request."""
        camille = self.patients["camille.martin"]
        asked = RecordRequest.objects.filter(patient=camille, requester_kind=RequesterKind.PATIENT)
        if not asked.filter(status__in=ANSWERED_STATUSES).exists():
            earlier = rr_requests.request_create(
                actor=camille.account, delivery=Delivery.DOWNLOAD, now=self.now - datetime.timedelta(days=10)
            )
            rr_office.request_validate(actor=self.users["dr.faure"], request_id=earlier.public_id)
            # The copy is made by its task (run here whatever the broker), then released: past the 48 hours already.
            if not RecordBundle.objects.filter(request=earlier, made_at__isnull=False).exists():
                rr_tasks.make_bundle.apply(args=[earlier.pk])
            rr_tasks.run_sweep()
        if not asked.filter(status=RequestStatus.RECEIVED).exists():
            rr_requests.request_create(actor=camille.account, delivery=Delivery.DOWNLOAD)


def _note_pdf(patient: Patient, title: str, lines: list[str]) -> bytes:
    """A small synthetic consultation note."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle(title)
    pdf.drawString(72, 770, f"{title} (données de démonstration)")
    pdf.drawString(72, 740, f"{patient.display_name}, né le {patient.birth_date:%d/%m/%Y}")
    for n, line in enumerate(lines):
        pdf.drawString(72, 710 - 20 * n, line)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _certificate_pdf(patient: Patient) -> bytes:
    """A small synthetic vaccination certificate, as a patient would scan or download it."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle("Certificat de vaccination")
    pdf.drawString(72, 770, "Certificat de vaccination (données de démonstration)")
    pdf.drawString(72, 740, f"{patient.display_name}, née le {patient.birth_date:%d/%m/%Y}")
    pdf.drawString(72, 710, "Grippe saisonnière : 15/10/2024 — Covid-19 (rappel) : 15/10/2024")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
