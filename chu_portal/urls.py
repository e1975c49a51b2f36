"""Root URLconf: pages, the REST API under /api/v1/, its OpenAPI schema and docs, FHIR R4 under /fhir/, /health/."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from accounts import api as accounts_api
from audit import api as audit_api
from dmp import api as dmp_api
from record_requests import api as record_requests_api
from records import api as records_api

from . import api as api_plumbing
from . import health, pages
from .schema import SwaggerDocsView

api_v1 = [
    path("auth/token/", accounts_api.TokenView.as_view(), name="auth-token"),
    path("auth/logout/", accounts_api.LogoutView.as_view(), name="auth-logout"),
    path("me/", accounts_api.MeView.as_view(), name="me"),
    path(
        "me/trusted-representatives/",
        records_api.TrustedRepresentativeView.as_view(),
        name="me-trusted-representatives",
    ),
    path(
        "patients/<str:patient_id>/representatives/",
        records_api.RepresentativesView.as_view(),
        name="patient-representatives",
    ),
    path(
        "representations/<str:representation_id>/",
        records_api.RepresentationDetailView.as_view(),
        name="representation-detail",
    ),
    path("patients/", records_api.PatientSearchView.as_view(), name="patient-search"),
    path("patients/<str:patient_id>/", records_api.PatientDetailView.as_view(), name="patient-detail"),
    path("patients/<str:patient_id>/record/", records_api.PatientRecordView.as_view(), name="patient-record"),
    path(
        "patients/<str:patient_id>/emergency-access/",
        records_api.EmergencyAccessView.as_view(),
        name="patient-emergency-access",
    ),
    path(
        "patients/<str:patient_id>/retrieve-ins/",
        records_api.RetrieveInsView.as_view(),
        name="patient-retrieve-ins",
    ),
    path(
        "patients/<str:patient_id>/qualify-identity/",
        records_api.QualifyIdentityView.as_view(),
        name="patient-qualify-identity",
    ),
    path("reports/", records_api.ReportCreateView.as_view(), name="report-create"),
    path("reports/<str:report_id>/", records_api.ReportDetailView.as_view(), name="report-detail"),
    path("reports/<str:report_id>/sign/", records_api.ReportSignView.as_view(), name="report-sign"),
    path("reports/<str:report_id>/amend/", records_api.ReportAmendView.as_view(), name="report-amend"),
    # Care across units (issue 11).
    path("stays/missing-letter/", records_api.MissingLettersView.as_view(), name="stays-missing-letter"),
    path("stays/<str:stay_id>/transfer/", records_api.StayTransferView.as_view(), name="stay-transfer"),
    path("stays/<str:stay_id>/handover-notes/", records_api.HandoverCreateView.as_view(), name="stay-handover-notes"),
    path("stays/<str:stay_id>/minor-secret/", records_api.StaySecretView.as_view(), name="stay-minor-secret"),
    path("opinion-requests/", records_api.OpinionListView.as_view(), name="opinion-requests"),
    path(
        "opinion-requests/<str:opinion_id>/answer/",
        records_api.OpinionAnswerView.as_view(),
        name="opinion-request-answer",
    ),
    path(
        "opinion-requests/<str:opinion_id>/close/", records_api.OpinionCloseView.as_view(), name="opinion-request-close"
    ),
    path("dmp/lookup/", dmp_api.LookupView.as_view(), name="dmp-lookup"),
    path("dmp/documents/<str:document_id>/", dmp_api.DocumentDetailView.as_view(), name="dmp-document"),
    path(
        "dmp/documents/<str:document_id>/content/", dmp_api.DocumentContentView.as_view(), name="dmp-document-content"
    ),
    path("dmp/documents/<str:document_id>/mask/", dmp_api.DocumentMaskView.as_view(), name="dmp-document-mask"),
    path("dmp/documents/<str:document_id>/unmask/", dmp_api.DocumentUnmaskView.as_view(), name="dmp-document-unmask"),
    path(
        "dmp/documents/<str:document_id>/make-visible/",
        dmp_api.DocumentMakeVisibleView.as_view(),
        name="dmp-document-make-visible",
    ),
    path(
        "dmp/documents/<str:document_id>/withdraw/",
        dmp_api.DocumentWithdrawView.as_view(),
        name="dmp-document-withdraw",
    ),
    path(
        "dmp/documents/<str:document_id>/objection/",
        dmp_api.DocumentObjectionView.as_view(),
        name="dmp-document-objection",
    ),
    path("dmp/<str:patient_id>/objections/", dmp_api.PatientObjectionsView.as_view(), name="dmp-objections"),
    path("objections/", dmp_api.ObjectionInboxView.as_view(), name="objections"),
    path("objections/<str:objection_id>/answer/", dmp_api.ObjectionAnswerView.as_view(), name="objection-answer"),
    path("dmp/<str:patient_id>/documents/", dmp_api.DocumentsView.as_view(), name="dmp-documents"),
    path("dmp/<str:patient_id>/settings/", dmp_api.SettingsView.as_view(), name="dmp-settings"),
    path("dmp/<str:patient_id>/deletion-request/", dmp_api.DeletionRequestView.as_view(), name="dmp-deletion-request"),
    path("dmp/<str:patient_id>/export/", dmp_api.ExportView.as_view(), name="dmp-export"),
    path("dmp/<str:patient_id>/blocked-professionals/", dmp_api.BlockedView.as_view(), name="dmp-blocked"),
    path("dmp/<str:patient_id>/blocked-professionals/<str:rpps>/", dmp_api.UnblockView.as_view(), name="dmp-unblock"),
    path("dmp/<str:patient_id>/profile/", dmp_api.ProfileView.as_view(), name="dmp-profile"),
    # Consent and emergency (the consent issue)
    path(
        "dmp/<str:patient_id>/consent-requests/",
        dmp_api.ConsentRequestCreateView.as_view(),
        name="dmp-consent-requests",
    ),
    path(
        "dmp/<str:patient_id>/consent-requests/in-person/",
        dmp_api.InPersonConsentView.as_view(),
        name="dmp-consent-in-person",
    ),
    path("consent-requests/", dmp_api.ConsentRequestListView.as_view(), name="consent-requests"),
    path(
        "consent-requests/<str:request_id>/approve/",
        dmp_api.ConsentRequestApproveView.as_view(),
        name="consent-request-approve",
    ),
    path(
        "consent-requests/<str:request_id>/deny/", dmp_api.ConsentRequestDenyView.as_view(), name="consent-request-deny"
    ),
    path("dmp/<str:patient_id>/grants/", dmp_api.GrantListView.as_view(), name="dmp-grants"),
    path("dmp/<str:patient_id>/designations/", dmp_api.DesignationsView.as_view(), name="dmp-designations"),
    path(
        "dmp/<str:patient_id>/designations/in-person/",
        dmp_api.DesignationInPersonView.as_view(),
        name="dmp-designation-in-person",
    ),
    path("designations/", dmp_api.DesignationInboxView.as_view(), name="designations"),
    path("designations/<str:designation_id>/", dmp_api.DesignationDetailView.as_view(), name="designation-detail"),
    path(
        "designations/<str:designation_id>/accept/",
        dmp_api.DesignationAcceptView.as_view(),
        name="designation-accept",
    ),
    path(
        "designations/<str:designation_id>/decline/",
        dmp_api.DesignationDeclineView.as_view(),
        name="designation-decline",
    ),
    path("notifications/", dmp_api.NotificationsView.as_view(), name="notifications"),
    path(
        "notifications/<str:notification_id>/read/",
        dmp_api.NotificationReadView.as_view(),
        name="notification-read",
    ),
    path("grants/<str:grant_id>/", dmp_api.GrantDetailView.as_view(), name="grant-detail"),
    path(
        "dmp/<str:patient_id>/emergency-access/",
        dmp_api.EmergencyAccessView.as_view(),
        name="dmp-emergency-access",
    ),
    # Requests for a copy of the hospital record (issue 22).
    path("record-requests/", record_requests_api.RecordRequestsView.as_view(), name="record-requests"),
    path("record-requests/queue/", record_requests_api.RecordRequestQueueView.as_view(), name="record-request-queue"),
    path("record-requests/heirs/", record_requests_api.HeirRequestView.as_view(), name="record-request-heirs"),
    path(
        "record-requests/<str:record_request_id>/",
        record_requests_api.RecordRequestDetailView.as_view(),
        name="record-request-detail",
    ),
    path(
        "record-requests/<str:record_request_id>/validate/",
        record_requests_api.RecordRequestValidateView.as_view(),
        name="record-request-validate",
    ),
    path(
        "record-requests/<str:record_request_id>/refuse/",
        record_requests_api.RecordRequestRefuseView.as_view(),
        name="record-request-refuse",
    ),
    path(
        "record-requests/<str:record_request_id>/bundle/",
        record_requests_api.RecordRequestBundleView.as_view(),
        name="record-request-bundle",
    ),
    path("secure-messages/", record_requests_api.SecureMessagesView.as_view(), name="secure-messages"),
    path(
        "secure-messages/<str:message_id>/bundle/",
        record_requests_api.SecureMessageBundleView.as_view(),
        name="secure-message-bundle",
    ),
    path("audit/events/", audit_api.AuditEventListView.as_view(), name="audit-events"),
    path("audit/verify/", audit_api.AuditVerifyView.as_view(), name="audit-verify"),
]

# OpenAPI 3 (issue 7): the generated schema and Swagger UI from local files.
api_schema = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerDocsView.as_view(url_name="schema"), name="api-docs"),
]

# Unknown paths under /api/ answer the API's {"detail", "code"} 404 (issue 7), after every API route.
api_not_found = [re_path(r"^api/", api_plumbing.not_found, name="api-not-found")]

# FHIR R4 read layer (issue 7).
fhir_urls = [path("fhir/", include("fhir.urls"))]

urlpatterns = [
    path("health/", health.health, name="health"),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    *api_schema,
    *api_not_found,
    *fhir_urls,
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("favicon.ico", pages.favicon, name="favicon"),
    path("deux-dossiers/", pages.TwoRecordsView.as_view(), name="two_records"),
    path("accessibilite/", pages.AccessibilityView.as_view(), name="accessibility"),
    path("", include("accounts.urls")),
    path("", include("records.urls")),
    path("", include("audit.urls")),
    path("", include("dmp.urls")),
    path("", include("record_requests.urls")),
]

if settings.BENCH_BARE_VIEW:
    # Benchmark baseline only: the bench runner sets it on its own throw-away server; never in production.
    from . import bench_views

    urlpatterns.insert(0, path("bench/bare/", bench_views.bare, name="bench-bare"))
handler500 = "chu_portal.api.server_error"
