"""Pages of the DMP for patients and professionals; thin: decisions and traces are in services."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from accounts.models import PROFESSIONAL_ROLES, Role
from audit.constants import Mode
from chu_portal.errors import NotFound
from chu_portal.refusals import errors_as_message, errors_into, wants_json
from dmp import access, services
from dmp.constants import PATIENT_UPLOAD_TYPES, DocumentSource, DocumentType, ProfileKind, RecordStatus
from records import services as record_services

# --- Forms ------------------------------------------------------------------------------------


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


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Fichier (PDF, JPEG ou PNG, 20 Mo au plus)"))
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=200)
    type_code = forms.ChoiceField(label=gettext_lazy("Type de document"), choices=DocumentType.choices)
    event_date = forms.DateField(
        label=gettext_lazy("Date de l'acte"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    visible_to_patient = forms.BooleanField(
        label=gettext_lazy("Visible du patient dès maintenant"), required=False, initial=True
    )

    def __init__(self, *args, patient_upload: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if patient_upload:
            self.fields["type_code"].choices = [(t.value, t.label) for t in PATIENT_UPLOAD_TYPES]
            del self.fields["visible_to_patient"]


class ProfileForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Catégorie"), choices=ProfileKind.choices)
    label = forms.CharField(label=gettext_lazy("Libellé"), max_length=200)
    date = forms.DateField(label=gettext_lazy("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=gettext_lazy("Remarque"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SettingsForm(forms.Form):
    gp_rpps = forms.CharField(
        label=gettext_lazy("Numéro RPPS de votre médecin traitant"),
        required=False,
        max_length=11,
        help_text=gettext_lazy("Laissez vide si vous n'avez pas de médecin traitant."),
    )
    emergency_access_allowed = forms.BooleanField(
        label=gettext_lazy("Autoriser l'accès d'urgence (bris de glace) à mon DMP"), required=False
    )
    samu_access_allowed = forms.BooleanField(
        label=gettext_lazy("Autoriser l'accès du SAMU (régulation)"), required=False
    )
    notify_by_email = forms.BooleanField(label=gettext_lazy("Me prévenir aussi par e-mail"), required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=RecordStatus.choices)
    confirm = forms.BooleanField(label=gettext_lazy("Je confirme"), required=True)


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


# --- Documents (patient and professional) -----------------------------------------------------


def _group(documents):
    groups = {"chu": [], "professional": [], "patient": []}
    for document in documents:
        groups[document.source].append(document)
    return [
        ("hospital", _("Documents de l'hôpital"), groups["chu"]),
        ("professionals", _("Documents des autres professionnels"), groups["professional"]),
        ("mine", _("Mes documents"), groups["patient"]),
    ]


def _list_page(request, *, patient_id=None, record=None, template: str):
    form = FilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = services.documents_list(
        actor=request.user,
        patient_id=patient_id,
        record=record,
        type_code=filters.get("type_code") or None,
        source=filters.get("source") or None,
        since=filters.get("since"),
        until=filters.get("until"),
        page=_page_number(request),
        page_size=100,
    )
    return render(
        request,
        template,
        {
            "page": page,
            "record": page.record,
            "patient": page.record.patient,
            "groups": _group(page.documents),
            "form": form,
        },
    )


def _page_number(request) -> int:
    try:
        return max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        return 1


@login_required
def home(request):
    """The patient's DMP home: documents grouped hospital / other professionals / mine."""
    if request.user.role != Role.PATIENT:
        return redirect("dmp:pro_home")
    record = services.own_record(request.user)
    return _list_page(request, record=record, template="dmp/home.html")


@login_required
def patient_dmp(request, patient_id):
    """A patient's DMP for a professional, as dmp/access.py allows."""
    return _list_page(request, patient_id=patient_id, template="dmp/patient_dmp.html")


@login_required
def document_detail(request, document_id):
    document, decision = services.document_open(actor=request.user, document_id=document_id)
    return render(
        request,
        "dmp/document.html",
        {
            "document": document,
            "decision": decision,
            "is_patient": decision.mode == Mode.SELF,
            "who_sees": access.who_still_sees(document),
        },
    )


@login_required
@xframe_options_sameorigin
def document_content(request, document_id):
    download = request.GET.get("download") == "1"
    document, handle = services.document_content(actor=request.user, document_id=document_id, download=download)
    response = FileResponse(
        handle,
        content_type=document.mime_type,
        as_attachment=download,
        filename=document.original_filename or "document",
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _document_action(request, document_id, verb, done_message):
    with errors_as_message(request):
        document = verb(actor=request.user, document_id=document_id)
        messages.success(request, done_message(document))
    return redirect("dmp:document", document_id=document_id)


@login_required
@require_POST
def document_mask(request, document_id):
    return _document_action(
        request, document_id, services.document_mask, lambda d: _("Document masqué. ") + access.who_still_sees(d)
    )


@login_required
@require_POST
def document_unmask(request, document_id):
    return _document_action(
        request, document_id, services.document_unmask, lambda d: _("Document démasqué. ") + access.who_still_sees(d)
    )


@login_required
@require_POST
def document_make_visible(request, document_id):
    return _document_action(
        request,
        document_id,
        services.document_make_visible,
        lambda d: _("Le document est désormais visible du patient."),
    )


@login_required
@require_POST
def document_delete(request, document_id):
    services.document_delete(actor=request.user, document_id=document_id)
    messages.success(request, _("Document supprimé."))
    return redirect("dmp:home")


def _upload(request, *, patient_id=None):
    is_patient = request.user.role == Role.PATIENT
    script = wants_json(request)
    record = services.own_record(request.user) if is_patient else services.record_by_patient_id(patient_id)
    form = UploadForm(request.POST or None, request.FILES or None, patient_upload=is_patient)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            # A script's request lets every error through: the refusal middleware answers it in JSON.
            with errors_into(form, fields={"file": "file"}, catch=not script):
                document = services.document_upload(
                    actor=request.user,
                    record=record,
                    uploaded=data["file"],
                    title=data["title"],
                    type_code=data["type_code"],
                    event_date=data.get("event_date"),
                    visible_to_patient=data.get("visible_to_patient", True),
                )
                messages.success(request, _("Document « %(t)s » ajouté.") % {"t": document.title})
                target = (
                    reverse("dmp:home")
                    if is_patient
                    else reverse("dmp:patient_dmp", kwargs={"patient_id": record.patient.public_id})
                )
                if script:
                    return JsonResponse({"redirect": target}, status=201)
                return redirect(target)
        elif script:
            errors = " ".join(str(e) for errs in form.errors.values() for e in errs)
            return JsonResponse({"detail": errors, "code": "invalid"}, status=400)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "dmp/upload.html",
        {"form": form, "patient": record.patient, "is_patient": is_patient, "max_mb": 20},
        status=status,
    )


@login_required
def upload_own(request):
    return _upload(request)


@login_required
def upload_for_patient(request, patient_id):
    return _upload(request, patient_id=patient_id)


# --- Patient: profile, settings, blocks, notifications, history --------------------------------


@login_required
def profile(request):
    form = ProfileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with errors_into(form):
            services.profile_add(actor=request.user, **form.cleaned_data)
            messages.success(request, _("Élément ajouté à votre profil médical."))
            return redirect("dmp:profile")
    record, entries = services.profile_list(actor=request.user)
    grouped = [(label, [e for e in entries if e.kind == kind]) for kind, label in ProfileKind.choices]
    return render(request, "dmp/profile.html", {"form": form, "grouped": grouped, "record": record})


@login_required
@require_POST
def profile_delete(request, entry_id):
    services.profile_delete(actor=request.user, entry_id=entry_id)
    messages.success(request, _("Élément retiré de votre profil médical."))
    return redirect("dmp:profile")


@login_required
def settings_page(request):
    record = services.record_settings_get(actor=request.user)
    initial = {
        "gp_rpps": record.gp.rpps if record.gp else "",
        "emergency_access_allowed": record.emergency_access_allowed,
        "samu_access_allowed": record.samu_access_allowed,
        "notify_by_email": record.notify_by_email,
    }
    form = SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with errors_into(form, fields={"gp": "gp_rpps", "rpps": "gp_rpps"}):
            services.record_settings_update(
                actor=request.user,
                gp=data["gp_rpps"] or None,
                emergency_access_allowed=data["emergency_access_allowed"],
                samu_access_allowed=data["samu_access_allowed"],
                notify_by_email=data["notify_by_email"],
            )
            messages.success(request, _("Paramètres enregistrés."))
            return redirect("dmp:settings")
    return render(request, "dmp/settings.html", {"form": form, "record": record}, status=400 if form.errors else 200)


@login_required
@require_POST
def settings_status(request):
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Cochez la case de confirmation pour changer le statut de votre DMP."))
        return redirect("dmp:settings")
    services.record_settings_update(actor=request.user, status=form.cleaned_data["status"])
    labels = {
        RecordStatus.ACTIVE: _("Votre DMP est actif."),
        RecordStatus.CLOSED: _(
            "Votre DMP est fermé : les professionnels ne le consultent plus et il n'est plus alimenté. Vous pouvez le rouvrir."
        ),
        RecordStatus.OPPOSED: _(
            "Votre opposition est enregistrée : votre DMP n'est plus alimenté et vous seul(e) le consultez."
        ),
    }
    messages.success(request, labels[form.cleaned_data["status"]])
    return redirect("dmp:settings")


@login_required
def blocked(request):
    form = RppsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with errors_into(form, "rpps"):
            services.professional_block(actor=request.user, rpps=form.cleaned_data["rpps"])
            messages.success(request, _("Ce professionnel ne voit plus rien de votre DMP."))
            return redirect("dmp:blocked")
    query = request.GET.get("q", "").strip()
    rows = services.blocked_list(actor=request.user)
    found = services.professionals_search(actor=request.user, query=query) if query else []
    return render(request, "dmp/blocked.html", {"form": form, "rows": rows, "query": query, "found": found})


@login_required
@require_POST
def unblock(request, rpps):
    with errors_as_message(request):
        services.professional_unblock(actor=request.user, rpps=rpps)
        messages.success(request, _("Professionnel débloqué."))
    return redirect("dmp:blocked")


@login_required
def notifications(request):
    items = services.notifications_list(actor=request.user)
    services.notifications_mark_read(actor=request.user)
    return render(request, "dmp/notifications.html", {"items": items})


@login_required
def history(request):
    page = services.access_history(actor=request.user, page=_page_number(request))
    return render(request, "dmp/history.html", {"page": page})


# --- Professionals ----------------------------------------------------------------------------


@login_required
def pro_home(request):
    if request.user.role not in PROFESSIONAL_ROLES:
        return redirect("accounts:home")
    return render(request, "dmp/pro_home.html", {"lookup_form": LookupForm()})


@login_required
def pro_find(request):
    """CHU staff search by name/birth date/IPP/INS; others by exact INS and birth date (traced)."""
    user = request.user
    if user.is_chu_staff and "q" in request.GET:
        query = request.GET.get("q", "").strip()
        patients, total = [], 0
        if query:
            patients, total = record_services.patient_search(actor=user, query=query)
        return render(
            request,
            "dmp/pro_home.html",
            {"lookup_form": LookupForm(), "patients": patients, "query": query, "total": total},
        )
    form = LookupForm(request.GET or None)
    if form.is_valid():
        with errors_into(form) as caught:
            patient = services.patient_lookup(
                actor=user, ins=form.cleaned_data["ins"], birth_date=form.cleaned_data["birth_date"]
            )
            return redirect("dmp:patient_dmp", patient_id=patient.public_id)
        if isinstance(caught.error, NotFound):
            # A lookup that matches nothing is an answer: the form says so, with 404.
            return render(request, "dmp/pro_home.html", {"lookup_form": form}, status=404)
    return render(request, "dmp/pro_home.html", {"lookup_form": form}, status=400 if form.errors else 200)


@login_required
def gp_dashboard(request):
    documents = services.gp_dashboard(actor=request.user)
    return render(request, "dmp/gp_dashboard.html", {"documents": documents})


# --- Account activation -----------------------------------------------------------------------


def activate(request):
    form = ActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with errors_into(form, fields={"password": "password"}):
            account = services.account_activate(
                code=data["code"], birth_date=data["birth_date"], password=data["password"]
            )
            messages.success(
                request,
                _("Votre espace est activé. Connectez-vous avec l'identifiant %(u)s et votre nouveau mot de passe.")
                % {"u": account.username},
            )
            return redirect("accounts:login")
    return render(request, "dmp/activate.html", {"form": form}, status=400 if form.errors else 200)
