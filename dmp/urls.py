"""URLs of the DMP pages (patient and professional) and of account activation."""

from django.urls import path

from .views import activation, consent, documents, feed, patient, professionals, withdrawal

app_name = "dmp"

urlpatterns = [
    path("dmp/", documents.home, name="home"),
    path("dmp/deposer/", documents.upload_own, name="upload"),
    path("dmp/dossier-ouvert/", documents.acting_choose, name="acting_choose"),
    path("dmp/documents/<uuid:document_id>/", documents.document_detail, name="document"),
    path("dmp/documents/<uuid:document_id>/contenu/", documents.document_content, name="document_content"),
    path("dmp/documents/<uuid:document_id>/masquer/", documents.document_mask, name="document_mask"),
    path("dmp/documents/<uuid:document_id>/demasquer/", documents.document_unmask, name="document_unmask"),
    path("dmp/documents/<uuid:document_id>/supprimer/", documents.document_delete, name="document_delete"),
    path(
        "dmp/documents/<uuid:document_id>/rendre-visible/",
        documents.document_make_visible,
        name="document_make_visible",
    ),
    path("dmp/profil-medical/", patient.profile, name="profile"),
    path("dmp/profil-medical/<uuid:entry_id>/retirer/", patient.profile_delete, name="profile_delete"),
    path("dmp/parametres/", patient.settings_page, name="settings"),
    path("dmp/parametres/statut/", patient.settings_status, name="settings_status"),
    path("dmp/parametres/suppression/", patient.settings_deletion, name="settings_deletion"),
    path("dmp/parametres/archive/", patient.export, name="export"),
    path("dmp/professionnels-bloques/", patient.blocked, name="blocked"),
    path("dmp/professionnels-bloques/<str:rpps>/debloquer/", patient.unblock, name="unblock"),
    path("dmp/notifications/", patient.notifications, name="notifications"),
    path("dmp/historique-des-acces/", patient.history, name="history"),
    path("dmp/medecin-traitant/", patient.designations, name="designations"),
    path("dmp/medecin-traitant/<uuid:designation_id>/retirer/", patient.designation_remove, name="designation_remove"),
    path("dmp/pro/designations/", professionals.pro_designations, name="pro_designations"),
    path(
        "dmp/pro/designations/<uuid:designation_id>/<str:answer>/",
        professionals.pro_designation_answer,
        name="pro_designation_answer",
    ),
    path("dmp/pro/", professionals.pro_home, name="pro_home"),
    path("dmp/pro/recherche/", professionals.pro_find, name="pro_find"),
    path("dmp/pro/nouveaux-documents/", professionals.gp_dashboard, name="gp_dashboard"),
    path("dmp/pro/comptes-rendus-retenus/", professionals.held_reports, name="held_reports"),
    path("dmp/patients/<uuid:patient_id>/", documents.patient_dmp, name="patient_dmp"),
    path("dmp/patients/<uuid:patient_id>/deposer/", documents.upload_for_patient, name="upload_for_patient"),
    path("activer-mon-espace/", activation.activate, name="activate"),
]

# Consent, grants and emergency access (the consent issue).
urlpatterns += [
    path("dmp/patients/<uuid:patient_id>/acces/", consent.access_request, name="access_request"),
    path("dmp/pro/demandes/", consent.pro_requests, name="pro_requests"),
    path("dmp/autorisations/", consent.consents, name="consents"),
    path("dmp/autorisations/nouvelle/", consent.authorise, name="authorise"),
    path("dmp/autorisations/demandes/<uuid:request_id>/accepter/", consent.consent_approve, name="consent_approve"),
    path("dmp/autorisations/demandes/<uuid:request_id>/refuser/", consent.consent_deny, name="consent_deny"),
    path("dmp/autorisations/<uuid:grant_id>/revoquer/", consent.grant_revoke, name="grant_revoke"),
    path("dmp/alertes-urgence/vues/", consent.emergency_alerts_seen, name="emergency_alerts_seen"),
]

# The feed dashboard (issue 5), for administrators.
urlpatterns += [
    path("flux-dmp/", feed.dashboard, name="feed_dashboard"),
    path("flux-dmp/<uuid:item_id>/relancer/", feed.retry, name="feed_retry"),
]

# Withdrawal of a fed document and the patient's objection (issue 19, point 2).
urlpatterns += [
    path("dmp/documents/<uuid:document_id>/retirer/", withdrawal.document_withdraw, name="document_withdraw"),
    path("dmp/comptes-rendus/<uuid:report_id>/retirer/", withdrawal.report_withdraw, name="report_withdraw"),
    path("dmp/documents/<uuid:document_id>/opposition/", withdrawal.document_objection, name="document_objection"),
    path("dmp/oppositions/", withdrawal.objections, name="objections"),
    path("dmp/pro/oppositions/", withdrawal.pro_objections, name="pro_objections"),
    path(
        "dmp/pro/oppositions/<uuid:objection_id>/repondre/",
        withdrawal.pro_objection_answer,
        name="pro_objection_answer",
    ),
]
