"""URLs of the record request pages: the patient's, the medical records office's (/archives/), the doctor's inbox."""

from django.urls import path

from . import views

app_name = "record_requests"

urlpatterns = [
    # The patient, or her representative for the person she acts for.
    path("mon-dossier-chu/copie/", views.mine, name="mine"),
    path("mon-dossier-chu/copie/demander/", views.ask, name="ask"),
    path("mon-dossier-chu/copie/<uuid:record_request_id>/", views.detail, name="detail"),
    path("mon-dossier-chu/copie/<uuid:record_request_id>/telecharger/", views.download, name="download"),
    # The medical records office and the validating doctors.
    path("archives/", views.queue, name="queue"),
    path("archives/ayants-droit/nouvelle/", views.heir_new, name="heir_new"),
    path("archives/demandes/<uuid:record_request_id>/", views.office_detail, name="office_detail"),
    path("archives/demandes/<uuid:record_request_id>/valider/", views.validate, name="validate"),
    path("archives/demandes/<uuid:record_request_id>/refuser/", views.refuse, name="refuse"),
    # The doctor's secure inbox (the MSSanté seam).
    path("pro/messagerie/", views.inbox, name="inbox"),
    path("pro/messagerie/<uuid:message_id>/", views.message, name="message"),
    path("pro/messagerie/<uuid:message_id>/copie/", views.message_download, name="message_download"),
]
