"""The INSi seam: retrieving a patient's INS from the national identity service, behind one interface.

The portal never calls the national teleservice INSi (docs/decisions.md, "Identity"). `client()` returns the
implementation the `INSI_CLIENT` setting names; the default, `LocalRegistryClient`, answers from the
`InsRegistryEntry` table that the demo seeds and the tests fill. A real connector (the establishment's
certificate or a CPS card, the INSi SOAP service) would implement `InsClient.retrieve` and be named there.

The rules this module applies (référentiel national d'identitovigilance, référentiel INS):
- the search is by traits, as INSi's: birth name, first first name, sex and birth date; one identity or none
  (several candidates answer as none: the search must be refined, nothing is guessed);
- the traits the national service returns must then equal the local identity's exactly, all five (birth name,
  every first name in order, birth date, sex, INSEE birth-place code), compared in the national
  writing (upper case, no accents, single spaces): `differences` names those that differ.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from .models import InsRegistryEntry

TRAIT_LABELS = {
    "birth_name": _("nom de naissance"),
    "first_names": _("prénoms"),
    "birth_date": _("date de naissance"),
    "sex": _("sexe"),
    "birth_place": _("lieu de naissance"),
}


@dataclass(frozen=True)
class Traits:
    """The identity traits INSi searches on and returns (the "traits stricts" of the référentiel)."""

    birth_name: str
    first_names: str
    birth_date: datetime.date
    sex: str
    birth_place: str = ""  # INSEE code of the birth place (a commune, or 99xxx for a country)

    @classmethod
    def of(cls, person) -> Traits:
        """The traits of a patient (or of a registry entry)."""
        return cls(
            birth_name=person.birth_name,
            first_names=person.first_names,
            birth_date=person.birth_date,
            sex=person.sex,
            birth_place=person.birth_place or "",
        )

    def normalised(self) -> Traits:
        return Traits(
            birth_name=normalise(self.birth_name),
            first_names=normalise(self.first_names),
            birth_date=self.birth_date,
            sex=self.sex,
            birth_place=self.birth_place.strip().upper(),
        )

    @property
    def first_first_name(self) -> str:
        names = normalise(self.first_names).split(" ")
        return names[0] if names else ""


@dataclass(frozen=True)
class InsIdentity:
    """What the national service returns: the matricule INS (NIR), its OID, and the traits as it writes them."""

    nir: str
    oid: str
    traits: Traits


class InsClient(Protocol):
    def retrieve(self, traits: Traits) -> InsIdentity | None:
        """The one national identity these traits designate, or None (not found, or not one)."""


def normalise(text: str) -> str:
    """The national writing of a name: upper case, no diacritics, single spaces (hyphens and apostrophes kept)."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.upper().replace("’", "'").split())


def differences(local: Traits, national: Traits) -> list[str]:
    """The traits (names, as in TRAIT_LABELS) on which the local identity and the national one differ."""
    mine, theirs = local.normalised(), national.normalised()
    return [name for name in TRAIT_LABELS if getattr(mine, name) != getattr(theirs, name)]


class LocalRegistryClient:
    """INSi modelled locally: a search by traits over `records.models.InsRegistryEntry`."""

    def retrieve(self, traits: Traits) -> InsIdentity | None:
        wanted = traits.normalised()
        candidates = [
            entry
            for entry in InsRegistryEntry.objects.filter(birth_date=traits.birth_date, sex=traits.sex).order_by("pk")
            if normalise(entry.birth_name) == wanted.birth_name
            and Traits.of(entry).first_first_name == traits.first_first_name
        ]
        if len(candidates) != 1:
            return None
        entry = candidates[0]
        return InsIdentity(nir=entry.nir, oid=entry.oid, traits=Traits.of(entry))


def client() -> InsClient:
    """The INSi client the `INSI_CLIENT` setting names (a dotted path to a class taking no argument)."""
    return import_string(settings.INSI_CLIENT)()


def register(*, nir: str, oid: str, traits: Traits) -> InsRegistryEntry:
    """Put one identity in the local registry (the demo seed, the tests), written as the national service writes it."""
    national = traits.normalised()
    entry, _created = InsRegistryEntry.objects.update_or_create(
        nir=nir,
        defaults={
            "oid": oid,
            "birth_name": national.birth_name,
            "first_names": national.first_names,
            "birth_date": national.birth_date,
            "sex": national.sex,
            "birth_place": national.birth_place,
        },
    )
    return entry
