"""App configuration of the hospital record."""

from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Hospital record"
