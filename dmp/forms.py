"""Forms of the DMP pages: documents, the patient's own pages, professionals, activation and consent."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .consent import checks
from .constants import (
    PATIENT_UPLOAD_TYPES,
    DesignationKind,
    DocumentSource,
    DocumentType,
    EmergencyMode,
    ProfileKind,
    RecordStatus,
    WithdrawalReason,
)

# --- Documents, the patient's pages, professionals, activation ---------------------------------


class FilterForm(forms.Form):
    type_code = forms.ChoiceField(
        label=gettext_lazy("Type"), required=False, choices=[("", gettext_lazy("Tous"))] + DocumentType.choices
    )
    source = forms.ChoiceField(
        label=gettext_lazy("Origine"), required=False, choices=[("", gettext_lazy("Toutes"))] + DocumentSource.choices
    )
    since = forms.DateField(
        label=gettext_lazy("Depuis le"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("Jusqu'au"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def named_errors(form) -> str:
    """Every error of a form with the label of its field: "Titre : Ce champ est obligatoire." (not the bare message)."""
    said = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            said.append(_("%(field)s : %(error)s") % {"field": label, "error": error} if label else str(error))
    return " ".join(said)


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Fichier (PDF, JPEG ou PNG, 20 Mo au plus)"))
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=200)
    # No default type: "Choisir…" first (a silent default filed prescriptions as vaccination history).
    type_code = forms.ChoiceField(
        label=gettext_lazy("Type de document"), choices=[("", gettext_lazy("Choisir…"))] + DocumentType.choices
    )
    event_date = forms.DateField(
        label=gettext_lazy("Date de l'acte"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    visible_to_patient = forms.BooleanField(
        label=gettext_lazy("Visible du patient dès maintenant"), required=False, initial=True
    )
    # The minor's secret (CSP L.1111-5): offered to a professional filing for a minor only.
    secret_from_representatives = forms.BooleanField(
        label=gettext_lazy("Secret vis-à-vis des représentants légaux (à la demande du patient mineur)"),
        required=False,
        initial=False,
    )

    def __init__(self, *args, patient_upload: bool, minor: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if patient_upload or not minor:
            del self.fields["secret_from_representatives"]
        if patient_upload:
            self.fields["type_code"].choices = [("", _("Choisir…"))] + [
                (t.value, t.label) for t in PATIENT_UPLOAD_TYPES
            ]
            del self.fields["visible_to_patient"]


class ProfileForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Catégorie"), choices=ProfileKind.choices)
    label = forms.CharField(label=gettext_lazy("Libellé"), max_length=200)
    date = forms.DateField(label=gettext_lazy("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=gettext_lazy("Remarque"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SettingsForm(forms.Form):
    emergency_access_allowed = forms.BooleanField(
        label=gettext_lazy("Autoriser l'accès d'urgence (bris de glace) à mon DMP"), required=False
    )
    samu_access_allowed = forms.BooleanField(
        label=gettext_lazy("Autoriser l'accès du SAMU (régulation)"), required=False
    )
    notify_by_email = forms.BooleanField(label=gettext_lazy("Me prévenir aussi par e-mail"), required=False)


class StatusForm(forms.Form):
    """The status the patient chose; the page's confirmation step (templates/_confirm.html) came first."""

    status = forms.ChoiceField(choices=RecordStatus.choices)


class RppsForm(forms.Form):
    rpps = forms.CharField(label=gettext_lazy("Numéro RPPS du professionnel"), max_length=11)


class LookupForm(forms.Form):
    ins = forms.CharField(label=gettext_lazy("Matricule INS (15 caractères)"), max_length=20)
    birth_date = forms.DateField(
        label=gettext_lazy("Date de naissance"), widget=forms.DateInput(attrs={"type": "date"})
    )


class ActivationForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code d'activation remis par le CHU"), max_length=20)
    birth_date = forms.DateField(
        label=gettext_lazy("Date de naissance"), widget=forms.DateInput(attrs={"type": "date"})
    )
    password = forms.CharField(
        label=gettext_lazy("Nouveau mot de passe (12 caractères au moins)"), widget=forms.PasswordInput
    )
    password2 = forms.CharField(label=gettext_lazy("Confirmez le mot de passe"), widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("Les deux mots de passe ne sont pas identiques."))
        return data


# --- Consent and emergency access -------------------------------------------------------------


def _duration_field():
    return forms.IntegerField(
        label=gettext_lazy("Durée de l'autorisation (jours)"),
        min_value=1,
        max_value=settings.DMP_GRANT_MAX_DAYS,
        initial=settings.DMP_GRANT_DEFAULT_DAYS,
        help_text=gettext_lazy("%(max)d jours au plus.") % {"max": settings.DMP_GRANT_MAX_DAYS},
    )


class ConsentRequestForm(forms.Form):
    purpose = forms.CharField(
        label=gettext_lazy("Motif de la demande (lu par le patient)"),
        max_length=checks.PURPOSE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["duration_days"] = _duration_field()


class InPersonConsentForm(ConsentRequestForm):
    patient_present = forms.BooleanField(
        label=gettext_lazy("J'atteste que le patient est présent et m'a donné son accord oralement"),
        required=True,
    )


class EmergencyForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Motif de l'urgence"),
        min_length=checks.REASON_MIN,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    mode = forms.ChoiceField(label=gettext_lazy("Mode"), choices=EmergencyMode.choices, initial=EmergencyMode.EMERGENCY)

    def __init__(self, *args, regulator: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if regulator:
            self.fields["mode"].widget = forms.RadioSelect(choices=EmergencyMode.choices)
        else:
            self.fields["mode"].choices = [(EmergencyMode.EMERGENCY.value, EmergencyMode.EMERGENCY.label)]
            self.fields["mode"].widget = forms.HiddenInput()


class DesignationForm(forms.Form):
    """The patient proposes a doctor for GP-level rights (he accepts in the portal)."""

    rpps = forms.CharField(label=gettext_lazy("Numéro RPPS du médecin"), max_length=11)
    kind = forms.ChoiceField(label=gettext_lazy("Rôle"), choices=DesignationKind.choices, initial=DesignationKind.GP)


class InPersonDesignationForm(forms.Form):
    """The doctor records a designation made in his consultation."""

    kind = forms.ChoiceField(label=gettext_lazy("Rôle"), choices=DesignationKind.choices, initial=DesignationKind.GP)
    patient_present = forms.BooleanField(
        label=gettext_lazy("J'atteste que le patient est présent et me désigne lui-même"), required=True
    )


# --- Withdrawal and the patient's objection (issue 19, point 2) --------------------------------


class WithdrawForm(forms.Form):
    reason = forms.ChoiceField(
        label=gettext_lazy("Motif du retrait"),
        widget=forms.RadioSelect,
        choices=[
            (WithdrawalReason.WRONG_PATIENT.value, WithdrawalReason.WRONG_PATIENT.label),
            (WithdrawalReason.WRONG_DOCUMENT.value, WithdrawalReason.WRONG_DOCUMENT.label),
        ],
    )
    note = forms.CharField(
        label=gettext_lazy("Précision (conservée pour le DPO et l'identitovigilance)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ObjectionForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Motif légitime de votre opposition"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ObjectionAnswerForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Décision"),
        widget=forms.RadioSelect,
        choices=[
            ("uphold", gettext_lazy("Retirer le document du DMP (opposition acceptée)")),
            ("decline", gettext_lazy("Garder le document et expliquer pourquoi au patient")),
        ],
    )
    answer = forms.CharField(
        label=gettext_lazy("Réponse au patient"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == "decline" and not (data.get("answer") or "").strip():
            self.add_error("answer", _("Expliquez au patient pourquoi le document reste dans son DMP."))
        return data
