"""Forms of the record request pages: the patient's request, the heir's paper file, the office's queue and answers."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.validators import validate_rpps

from .constants import Delivery, HeirReason, RefusalReason, RequestStatus

ALL, SOME = "all", "some"
SCOPE_CHOICES = [
    (ALL, _("Tout mon dossier du CHU (tous les séjours)")),
    (SOME, _("Certains séjours seulement")),
]


class _DeliveryMixin:
    """The form of the answer: a download in the portal, or sent to a doctor named by his RPPS number."""

    def clean(self):
        data = super().clean()
        if data.get("delivery") == Delivery.DOCTOR and not data.get("doctor_rpps"):
            self.add_error("doctor_rpps", _("Indiquez le numéro RPPS du médecin à qui envoyer la copie."))
        if data.get("delivery") != Delivery.DOCTOR:
            data["doctor_rpps"] = ""
        return data


def _stay_label(stay) -> str:
    admitted = timezone.localtime(stay.admitted_at).strftime("%d/%m/%Y")
    if stay.discharged_at:
        return _("%(unit)s, du %(start)s au %(end)s") % {
            "unit": stay.unit.name,
            "start": admitted,
            "end": timezone.localtime(stay.discharged_at).strftime("%d/%m/%Y"),
        }
    return _("%(unit)s, depuis le %(start)s") % {"unit": stay.unit.name, "start": admitted}


class RequestForm(_DeliveryMixin, forms.Form):
    """The patient's (or her representative's) request; the stays offered are those she may ask for."""

    scope = forms.ChoiceField(label=_("Quels séjours ?"), choices=SCOPE_CHOICES, initial=ALL, widget=forms.RadioSelect)
    stays = forms.MultipleChoiceField(label=_("Séjours demandés"), required=False, widget=forms.CheckboxSelectMultiple)
    delivery = forms.ChoiceField(
        label=_("Comment recevoir la copie ?"),
        choices=Delivery.choices,
        initial=Delivery.DOWNLOAD,
        widget=forms.RadioSelect,
    )
    doctor_rpps = forms.CharField(
        label=_("Numéro RPPS du médecin destinataire (11 chiffres)"),
        required=False,
        max_length=11,
        validators=[validate_rpps],
        help_text=_("Il figure sur ses ordonnances et dans l'annuaire santé.fr. Seul ce médecin lira la copie."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "aria-describedby": "rpps-help"}),
    )

    def __init__(self, *args, stays=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stays"].choices = [(str(stay.public_id), _stay_label(stay)) for stay in stays]

    def clean(self):
        data = super().clean()
        if data.get("scope") == SOME and not data.get("stays"):
            self.add_error("stays", _("Cochez au moins un séjour, ou demandez tout le dossier."))
        if data.get("scope") == ALL:
            data["stays"] = []
        return data


class HeirForm(forms.Form):
    """An heir's request, recorded by the medical records office from the paper file (CSP L.1110-4 V, R.1111-1)."""

    ipp = forms.CharField(
        label=_("IPP du patient décédé"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    death_date = forms.DateField(label=_("Date du décès"), widget=forms.DateInput(attrs={"type": "date"}))
    heir_name = forms.CharField(label=_("Nom et prénom de l'ayant droit"), max_length=200)
    heir_relation = forms.CharField(
        label=_("Lien avec le défunt"), max_length=100, help_text=_("Par exemple : conjoint, fille, frère.")
    )
    heir_reason = forms.ChoiceField(
        label=_("Motif de la demande (article L.1110-4 du code de la santé publique)"),
        choices=HeirReason.choices,
        widget=forms.RadioSelect,
    )
    received_on = forms.DateField(
        label=_("Demande complète reçue le"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "Les délais courent à partir de la réception de la demande complète (pièces justificatives comprises)."
        ),
    )
    doctor_rpps = forms.CharField(
        label=_("Numéro RPPS du médecin désigné par l'ayant droit"),
        help_text=_("La copie est envoyée à ce médecin par sa messagerie sécurisée de santé."),
        max_length=11,
        validators=[validate_rpps],
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_received_on(self):
        received = self.cleaned_data["received_on"]
        if received > timezone.localdate():
            raise forms.ValidationError(_("La date de réception ne peut pas être dans le futur."))
        return received

    def clean_death_date(self):
        died = self.cleaned_data["death_date"]
        if died > timezone.localdate():
            raise forms.ValidationError(_("La date du décès ne peut pas être dans le futur."))
        return died


class ValidateForm(forms.Form):
    include_handover_notes = forms.BooleanField(
        label=_("Inclure les transmissions de l'équipe soignante"), required=False, initial=False
    )


class RefuseForm(forms.Form):
    reason = forms.ChoiceField(label=_("Motif du refus"), choices=[("", _("Choisir…")), *RefusalReason.choices])
    note = forms.CharField(
        label=_("Précision communiquée au demandeur"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


OVERDUE = "overdue"
OPEN = "open"


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("État"),
        required=False,
        choices=[
            ("", _("Toutes")),
            (OPEN, _("En cours (à traiter)")),
            (OVERDUE, _("En retard")),
            *RequestStatus.choices,
        ],
    )
