"""The record request app: a patient's request for a copy of her hospital record (CSP L.1111-7)."""

from django.apps import AppConfig


class RecordRequestsConfig(AppConfig):
    name = "record_requests"
    verbose_name = "Demandes de copie du dossier du CHU"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import request_started

        from .tasks import sweep_if_embedded

        # The embedded mode has no beat: copies past their 48 hours are released in-process (tasks.py).
        request_started.connect(sweep_if_embedded, dispatch_uid="record_requests.sweep_if_embedded")
