"""App configuration of the shared record (DMP)."""

from django.apps import AppConfig


class DmpConfig(AppConfig):
    name = "dmp"
    verbose_name = "Shared record (DMP)"

    def ready(self) -> None:
        from .feed import receivers  # noqa: F401 - connects the feed to records' signals
