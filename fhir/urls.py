"""FHIR R4 routes (read only), under /fhir/."""

from django.urls import path, re_path

from . import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.MetadataView.as_view(), name="metadata"),
    path("Patient/<str:patient_id>", views.PatientReadView.as_view(), name="patient"),
    path("DocumentReference", views.DocumentReferenceSearchView.as_view(), name="document-search"),
    path("DocumentReference/<str:document_id>", views.DocumentReferenceReadView.as_view(), name="document"),
    path("Consent", views.ConsentSearchView.as_view(), name="consent-search"),
    path("AuditEvent", views.AuditEventSearchView.as_view(), name="audit-event-search"),
    re_path(r"^(?P<rest>.*)$", views.NotFoundView.as_view(), name="unsupported"),
]
