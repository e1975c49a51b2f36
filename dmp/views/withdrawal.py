"""Pages of withdrawal and objection: a professional withdraws a fed document, the patient objects to one, the unit answers.

Each state change is a form, then its confirmation step (templates/_confirm.html, the form's values carried as
hidden fields), then the service; thin views, every decision and trace is in dmp/services/withdrawal.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import Role
from chu_portal.errors import AccessDenied, Decision
from chu_portal.refusals import errors_into

from ..forms import ObjectionAnswerForm, ObjectionForm, WithdrawForm
from ..services import records
from ..services import withdrawal as withdrawal_service


def _confirmed(request) -> bool:
    return request.method == "POST" and request.POST.get("confirmed") == "1"


def _hidden(form) -> list[tuple[str, str]]:
    return [("confirmed", "1")] + [(name, str(value)) for name, value in form.cleaned_data.items()]


def _withdraw_page(request, document_id):
    document, _decision = withdrawal_service.withdrawal_form(actor=request.user, document_id=document_id)
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    review = False
    if request.method == "POST" and form.is_valid():
        if _confirmed(request):
            with errors_into(form) as caught:
                withdrawal_service.document_withdraw(
                    actor=request.user,
                    document_id=document.public_id,
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                )
            if not caught.error:
                messages.success(
                    request,
                    _(
                        "Le document a été retiré du DMP : plus personne ne le voit. Le patient et son médecin "
                        "traitant sont informés qu'un document a été retiré, sans son titre."
                    ),
                )
                return redirect("dmp:pro_home")
        else:
            review = True
    return render(
        request,
        "dmp/withdraw.html",
        {
            "document": document,
            "form": form,
            "review": review,
            "hidden": _hidden(form) if review else [],
            "reason_label": dict(form.fields["reason"].choices).get(form.cleaned_data.get("reason")) if review else "",
        },
        status=400 if request.method == "POST" and not form.is_valid() else 200,
    )


@login_required
def document_withdraw(request, document_id):
    """The author or a care-team doctor withdraws a fed CHU document (from the DMP page or the document)."""
    return _withdraw_page(request, document_id)


@login_required
def report_withdraw(request, report_id):
    """The same page reached from the hospital record's report (its DMP document found by the report's id)."""
    document = withdrawal_service.document_for_report(report_id)
    if document is None:
        raise AccessDenied(
            Decision.deny("not_found", _("Ce compte rendu n'a pas (encore) été déposé au DMP."), status=404)
        )
    return _withdraw_page(request, document.public_id)


@login_required
def document_objection(request, document_id):
    """The patient objects to a CHU document of her DMP for a legitimate reason (CSP R.1111-47)."""
    document, _decision = withdrawal_service.objection_form(actor=request.user, document_id=document_id)
    form = ObjectionForm(request.POST if request.method == "POST" else None)
    review = False
    if request.method == "POST" and form.is_valid():
        if _confirmed(request):
            with errors_into(form, fields={"reason": "reason"}) as caught:
                withdrawal_service.objection_create(
                    actor=request.user, document_id=document.public_id, reason=form.cleaned_data["reason"]
                )
            if not caught.error:
                messages.success(
                    request,
                    _(
                        "Votre opposition est transmise à l'unité du CHU qui a rédigé ce document. Vous serez informé(e) de sa réponse."
                    ),
                )
                return redirect("dmp:objections")
        else:
            review = True
    return render(
        request,
        "dmp/objection.html",
        {"document": document, "form": form, "review": review, "hidden": _hidden(form) if review else []},
        status=400 if request.method == "POST" and not form.is_valid() else 200,
    )


@login_required
def objections(request):
    """The patient's objections and the answers she received."""
    if request.user.role != Role.PATIENT:
        return redirect("dmp:pro_objections")
    record = records.own_record(request.user)
    rows = withdrawal_service.my_objections(actor=request.user, record=record)
    return render(request, "dmp/objections.html", {"rows": rows})


@login_required
def pro_objections(request):
    """Open objections addressed to the doctor's units (or his own documents), to answer."""
    rows = withdrawal_service.objections_to_answer(actor=request.user)
    return render(request, "dmp/pro_objections.html", {"rows": rows})


@login_required
def pro_objection_answer(request, objection_id):
    """Withdraw the document (objection upheld) or answer the patient why not; then the confirmation step."""
    objection, _decision = withdrawal_service.objection_open(actor=request.user, objection_id=objection_id)
    form = ObjectionAnswerForm(request.POST if request.method == "POST" else None)
    review = False
    if request.method == "POST" and form.is_valid():
        uphold = form.cleaned_data["decision"] == "uphold"
        if _confirmed(request):
            with errors_into(form, fields={"answer": "answer"}) as caught:
                withdrawal_service.objection_answer(
                    actor=request.user,
                    objection_id=objection.public_id,
                    uphold=uphold,
                    answer=form.cleaned_data["answer"],
                )
            if not caught.error:
                messages.success(
                    request,
                    _("Opposition acceptée : le document est retiré du DMP.")
                    if uphold
                    else _("Votre réponse est transmise au patient ; le document reste dans son DMP."),
                )
                return redirect("dmp:pro_objections")
        else:
            review = True
    return render(
        request,
        "dmp/objection_answer.html",
        {
            "objection": objection,
            "form": form,
            "review": review,
            "uphold": review and form.cleaned_data["decision"] == "uphold",
            "hidden": _hidden(form) if review else [],
        },
        status=400 if request.method == "POST" and not form.is_valid() else 200,
    )
