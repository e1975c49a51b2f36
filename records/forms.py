"""Forms of the clinician pages (validation messages in French)."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .constants import ReportType, RepresentationKind


def parse_birth_date(text: str) -> datetime.date | None:
    """Accept 1984-03-12 or 12/03/1984; None when the text is not a date."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Nom, date de naissance, IPP ou INS"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "type": "search"}),
    )


CHOOSE = _("Choisir…")


def report_type_choices() -> list[tuple[str, str]]:
    """No default type (a silent default files letters under the wrong type); each says whether it goes to the DMP."""
    fed, kept = _("envoyé au DMP du patient à la signature"), _("reste dans le dossier du CHU")
    return [("", CHOOSE)] + [
        (value, f"{label} — {fed if settings.DMP_FEED_TYPES.get(value) else kept}")
        for value, label in ReportType.choices
    ]


class ReportForm(forms.Form):
    type_code = forms.ChoiceField(label=_("Type de document"), choices=report_type_choices)
    title = forms.CharField(label=_("Titre"), max_length=200)
    body = forms.CharField(label=_("Texte du compte rendu"), widget=forms.Textarea(attrs={"rows": 14}))


class ReportEditForm(forms.Form):
    title = forms.CharField(label=_("Titre"), max_length=200)
    body = forms.CharField(label=_("Texte du compte rendu"), widget=forms.Textarea(attrs={"rows": 14}))


class EmergencyAccessForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif de l'accès d'urgence"),
        min_length=10,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Ce motif est enregistré, signalé au délégué à la protection des données et visible du patient."),
    )


class QualifyIdentityForm(forms.Form):
    document_checked = forms.BooleanField(
        label=_("J'ai vérifié une pièce d'identité officielle (carte d'identité, passeport, titre de séjour)."),
        required=True,
    )


class OpinionRequestForm(forms.Form):
    question = forms.CharField(
        label=_("Question posée"), min_length=10, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    consulted_username = forms.CharField(label=_("Identifiant du médecin consulté"), max_length=150, required=False)
    consulted_unit_code = forms.CharField(label=_("ou unité consultée"), max_length=20, required=False)


class OpinionAnswerForm(forms.Form):
    body = forms.CharField(label=_("Avis (note de consultation)"), widget=forms.Textarea(attrs={"rows": 6}))


class RepresentationForm(forms.Form):
    """The admission desk records a parent or guardian (issue 21)."""

    representative = forms.CharField(label=_("Identifiant du compte patient du représentant"), max_length=150)
    kind = forms.ChoiceField(
        label=_("Qualité"),
        choices=[(k.value, k.label) for k in (RepresentationKind.PARENT, RepresentationKind.GUARDIAN)],
    )
    relation = forms.CharField(label=_("Lien (mère, père, tuteur…)"), max_length=40, required=False)
    starts = forms.DateField(label=_("Début"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends = forms.DateField(
        label=_("Fin (décision de justice ; pour un parent, la majorité au plus tard)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    identity_checked = forms.BooleanField(
        label=_("J'ai vérifié l'identité du représentant et sa qualité (livret de famille, jugement)."), required=True
    )


class TrustedRepresentativeForm(forms.Form):
    """The adult patient names a trusted representative (read only)."""

    representative = forms.CharField(label=_("Identifiant du compte patient de la personne"), max_length=150)
    ends = forms.DateField(
        label=_("Jusqu'au (facultatif)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
