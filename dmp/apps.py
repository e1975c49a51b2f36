"""App configuration of the shared record (DMP)."""

from django.apps import AppConfig


class DmpConfig(AppConfig):
    name = "dmp"
    verbose_name = "Shared record (DMP)"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_migrate, post_save

        from . import matrix
        from .feed import receivers  # noqa: F401 - connects the feed to records' signals
        from .models import AccessMatrixEntry

        # The cached access matrix is forgotten on every change of the table (dmp/matrix.py).
        post_save.connect(matrix.changed, sender=AccessMatrixEntry, dispatch_uid="dmp-matrix-saved")
        post_delete.connect(matrix.changed, sender=AccessMatrixEntry, dispatch_uid="dmp-matrix-deleted")
        post_migrate.connect(matrix.migrated, dispatch_uid="dmp-matrix-migrated")
