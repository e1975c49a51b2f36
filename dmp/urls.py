"""URLs of the DMP pages (patient and professional) and of account activation."""

from django.urls import path

from .views import consent as consent_views
from .views import documents as views
from .views import feed as feed_views

app_name = "dmp"

urlpatterns = [
    path("dmp/", views.home, name="home"),
    path("dmp/deposer/", views.upload_own, name="upload"),
    path("dmp/documents/<uuid:document_id>/", views.document_detail, name="document"),
    path("dmp/documents/<uuid:document_id>/contenu/", views.document_content, name="document_content"),
    path("dmp/documents/<uuid:document_id>/masquer/", views.document_mask, name="document_mask"),
    path("dmp/documents/<uuid:document_id>/demasquer/", views.document_unmask, name="document_unmask"),
    path("dmp/documents/<uuid:document_id>/supprimer/", views.document_delete, name="document_delete"),
    path("dmp/documents/<uuid:document_id>/rendre-visible/", views.document_make_visible, name="document_make_visible"),
    path("dmp/profil-medical/", views.profile, name="profile"),
    path("dmp/profil-medical/<uuid:entry_id>/retirer/", views.profile_delete, name="profile_delete"),
    path("dmp/parametres/", views.settings_page, name="settings"),
    path("dmp/parametres/statut/", views.settings_status, name="settings_status"),
    path("dmp/professionnels-bloques/", views.blocked, name="blocked"),
    path("dmp/professionnels-bloques/<str:rpps>/debloquer/", views.unblock, name="unblock"),
    path("dmp/notifications/", views.notifications, name="notifications"),
    path("dmp/historique-des-acces/", views.history, name="history"),
    path("dmp/pro/", views.pro_home, name="pro_home"),
    path("dmp/pro/recherche/", views.pro_find, name="pro_find"),
    path("dmp/pro/nouveaux-documents/", views.gp_dashboard, name="gp_dashboard"),
    path("dmp/patients/<uuid:patient_id>/", views.patient_dmp, name="patient_dmp"),
    path("dmp/patients/<uuid:patient_id>/deposer/", views.upload_for_patient, name="upload_for_patient"),
    path("activer-mon-espace/", views.activate, name="activate"),
]

# Consent, grants and emergency access (the consent issue).
urlpatterns += [
    path("dmp/patients/<uuid:patient_id>/acces/", consent_views.access_request, name="access_request"),
    path("dmp/pro/demandes/", consent_views.pro_requests, name="pro_requests"),
    path("dmp/autorisations/", consent_views.consents, name="consents"),
    path(
        "dmp/autorisations/demandes/<uuid:request_id>/accepter/", consent_views.consent_approve, name="consent_approve"
    ),
    path("dmp/autorisations/demandes/<uuid:request_id>/refuser/", consent_views.consent_deny, name="consent_deny"),
    path("dmp/autorisations/<uuid:grant_id>/revoquer/", consent_views.grant_revoke, name="grant_revoke"),
    path("dmp/alertes-urgence/vues/", consent_views.emergency_alerts_seen, name="emergency_alerts_seen"),
]

# The feed dashboard (issue 5), for administrators.
urlpatterns += [
    path("flux-dmp/", feed_views.dashboard, name="feed_dashboard"),
    path("flux-dmp/<uuid:item_id>/relancer/", feed_views.retry, name="feed_retry"),
]
