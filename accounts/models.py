"""People: the user model with its role, professional profiles, CHU units and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .validators import validate_rpps


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    CHU_CLINICIAN = "chu_clinician", _("Médecin du CHU")
    CHU_COLLABORATOR = "chu_collaborator", _("Collaborateur du CHU")
    EXTERNAL_PROFESSIONAL = "external_professional", _("Professionnel de santé (hors CHU)")
    DPO = "dpo", _("Délégué à la protection des données")
    ADMIN = "admin", _("Administrateur")


CHU_STAFF_ROLES = frozenset({Role.CHU_CLINICIAN, Role.CHU_COLLABORATOR})
PROFESSIONAL_ROLES = frozenset({Role.CHU_CLINICIAN, Role.CHU_COLLABORATOR, Role.EXTERNAL_PROFESSIONAL})


class Profession(models.TextChoices):
    MEDECIN = "medecin", _("Médecin")
    SAGE_FEMME = "sage_femme", _("Sage-femme")
    INFIRMIER = "infirmier", _("Infirmier")
    PHARMACIEN = "pharmacien", _("Pharmacien")
    KINESITHERAPEUTE = "kinesitherapeute", _("Masseur-kinésithérapeute")
    CHIRURGIEN_DENTISTE = "chirurgien_dentiste", _("Chirurgien-dentiste")
    SECRETAIRE_MEDICALE = "secretaire_medicale", _("Secrétaire médicale")


# The health professions of the Code de la santé publique (part 4) that the portal knows: every profession
# but the medical secretary's, who works for a care team without being a health professional. Only they
# read, feed or ask access to the DMP (docs/domain.md, "Health professionals only").
HEALTH_PROFESSIONS = frozenset(p for p in Profession if p != Profession.SECRETAIRE_MEDICALE)

# Professions that author and sign medical reports in the CHU.
PRESCRIBING_PROFESSIONS = frozenset({Profession.MEDECIN, Profession.SAGE_FEMME})


class Unit(models.Model):
    """A care unit (service) of the CHU: Cardiologie, Orthopédie, Urgences..."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(max_length=30, choices=Role.choices, default=Role.PATIENT)
    # Part of every session's hash: raising it ends all the user's sessions (credentials_revoke).
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid")]

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_role = instance.__dict__.get("role")
        return instance

    def save(self, *args, **kwargs):
        """A new password (set_password, not a login's rehash) or a new role ends the user's sessions
        and API tokens: a credential that proved the old one dies with it (docs/security.md)."""
        update_fields = kwargs.get("update_fields")
        loaded_role = getattr(self, "_loaded_role", None)
        role_changed = loaded_role is not None and loaded_role != self.role
        if update_fields is not None and "role" not in update_fields:
            role_changed = False
        # AbstractBaseUser keeps the raw password until save; a login's rehash clears it first.
        password_changed = self.pk is not None and self._password is not None
        revoke = self.pk is not None and (role_changed or password_changed)
        if revoke:
            self.session_epoch += 1
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "session_epoch"}
        super().save(*args, **kwargs)
        self._loaded_role = self.role
        if revoke:
            ApiToken.objects.filter(user=self).live().update(revoked_at=timezone.now())

    def credentials_revoke(self) -> None:
        """End every session and API token of this user (second-factor reset, account recovery)."""
        User.objects.filter(pk=self.pk).update(session_epoch=models.F("session_epoch") + 1)
        self.refresh_from_db(fields=["session_epoch"])
        ApiToken.objects.filter(user=self).live().update(revoked_at=timezone.now())

    def _get_session_auth_hash(self, secret=None):
        # Django's hash covers the password; the role and the epoch end sessions on their change too.
        key_salt = "accounts.User.get_session_auth_hash"
        value = f"{self.password}|{self.role}|{self.session_epoch}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    def get_full_name(self) -> str:
        full = super().get_full_name()
        return full or self.username

    @cached_property
    def professional(self) -> ProfessionalProfile | None:
        try:
            return self.professional_profile
        except ProfessionalProfile.DoesNotExist:
            return None

    @property
    def rpps(self) -> str | None:
        profile = self.professional
        return profile.rpps if profile else None

    @property
    def is_chu_staff(self) -> bool:
        return self.role in CHU_STAFF_ROLES

    @property
    def is_professional(self) -> bool:
        return self.role in PROFESSIONAL_ROLES

    @property
    def display_name(self) -> str:
        profile = self.professional
        if profile and profile.profession == Profession.MEDECIN:
            return f"Dr {self.get_full_name()}"
        return self.get_full_name()


class ProfessionalProfile(models.Model):
    """A health professional (RPPS): CHU clinicians and collaborators, and those outside the CHU."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="professional_profile")
    rpps = models.CharField(max_length=11, unique=True, validators=[validate_rpps])
    profession = models.CharField(max_length=30, choices=Profession.choices)
    specialty = models.CharField(max_length=120, blank=True)
    units = models.ManyToManyField(Unit, blank=True, related_name="staff")
    # SAMU regulation doctor: may use the SAMU mode of emergency access to the DMP.
    regulation = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(rpps__regex=r"^[0-9]{11}$"), name="rpps_eleven_digits"),
            models.CheckConstraint(condition=models.Q(profession__in=Profession.values), name="profession_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_full_name()} ({self.rpps})"

    @property
    def national_id(self) -> str:
        return "8" + self.rpps


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True, expires__gt=timezone.now())


class ApiToken(models.Model):
    """An API token, stored hashed; it expires and logout revokes it."""

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    @classmethod
    def issue(cls, user: User) -> tuple[ApiToken, str]:
        raw = secrets.token_urlsafe(32)
        token = cls.objects.create(
            key_hash=_hash_token(raw),
            user=user,
            expires=timezone.now() + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
        )
        return token, raw

    @classmethod
    def find_live(cls, raw: str) -> ApiToken | None:
        return (
            cls.objects.live()
            .select_related("user", "user__professional_profile")
            .filter(key_hash=_hash_token(raw))
            .first()
        )
