"""The record request app: a patient's request for a copy of her hospital record (CSP L.1111-7)."""

from django.apps import AppConfig


class RecordRequestsConfig(AppConfig):
    name = "record_requests"
    verbose_name = "Demandes de copie du dossier du CHU"
    default_auto_field = "django.db.models.BigAutoField"
