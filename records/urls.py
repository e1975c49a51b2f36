"""URLs of the clinician pages of the hospital record."""

from django.urls import path

from . import views

app_name = "records"

urlpatterns = [
    path("patients/", views.my_patients, name="my_patients"),
    path("patients/recherche/", views.patient_search, name="patient_search"),
    path("patients/<uuid:patient_id>/dossier/", views.patient_record, name="patient_record"),
    path("patients/<uuid:patient_id>/acces-urgence/", views.emergency_access, name="emergency_access"),
    path("patients/<uuid:patient_id>/recuperer-ins/", views.retrieve_ins, name="retrieve_ins"),
    path("patients/<uuid:patient_id>/qualifier-identite/", views.qualify_identity, name="qualify_identity"),
    path("sejours/<uuid:stay_id>/comptes-rendus/nouveau/", views.report_create, name="report_create"),
    path("comptes-rendus/<uuid:report_id>/", views.report_detail, name="report_detail"),
    path("comptes-rendus/<uuid:report_id>/modifier/", views.report_edit, name="report_edit"),
    path("comptes-rendus/<uuid:report_id>/signer/", views.report_sign, name="report_sign"),
    path("comptes-rendus/<uuid:report_id>/amender/", views.report_amend, name="report_amend"),
    path("sejours/<uuid:stay_id>/transfert/", views.stay_transfer, name="stay_transfer"),
    path("sejours/<uuid:stay_id>/demande-avis/", views.opinion_request, name="opinion_request"),
    path("sejours/<uuid:stay_id>/transmissions/", views.handover_add, name="handover_add"),
    path("sejours/<uuid:stay_id>/secret-mineur/", views.stay_secret, name="stay_secret"),
    path("avis/", views.opinions, name="opinions"),
    path("avis/<uuid:opinion_id>/repondre/", views.opinion_answer, name="opinion_answer"),
    path("avis/<uuid:opinion_id>/clore/", views.opinion_close, name="opinion_close"),
    path("lettres-de-liaison-manquantes/", views.missing_letters, name="missing_letters"),
    path("controle/incidents-identite/", views.identity_incidents, name="identity_incidents"),
    # Representatives (issue 21): the desk, the patient's own page, ending one.
    path("patients/<uuid:patient_id>/representants/", views.representatives, name="representatives"),
    path("mes-representants/", views.trusted, name="trusted"),
    path("representations/<uuid:representation_id>/fin/", views.representation_end, name="representation_end"),
]
