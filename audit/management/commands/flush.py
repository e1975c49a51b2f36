"""`flush` that may empty the trace tables: it sets chu.audit_maintenance for its own session.

The test database's flush (TransactionTestCase, live-server tests) is the only routine user.
"""

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections


class Command(FlushCommand):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute("SET chu.audit_maintenance = 'on'")
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET chu.audit_maintenance")
