"""`manage.py audit_db_roles`: print (or apply) the PostgreSQL roles that protect the trace tables.

The application role may only SELECT and INSERT on trace tables; the maintenance role (used by
retention through its own database URL) may also DELETE. Passwords are set out of band.
"""

import re

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from audit.models import AuditCheckpoint, AuditEvent, AuditReview, AuditSeal, AuditVerification

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TRACE_TABLES = [
    AuditEvent._meta.db_table,
    AuditSeal._meta.db_table,
    AuditReview._meta.db_table,
    AuditCheckpoint._meta.db_table,
    AuditVerification._meta.db_table,
]


def _ident(name: str) -> str:
    return connection.ops.quote_name(name)


def role_setup_sql(app_role: str, maintenance_role: str, database: str) -> list[str]:
    for role in (app_role, maintenance_role):
        if not _ROLE_NAME.match(role):
            raise CommandError(f"invalid role name: {role!r}")
    traces = ", ".join(_ident(t) for t in TRACE_TABLES)
    statements = []
    for role in (app_role, maintenance_role):
        statements.append(
            # The role name matched _ROLE_NAME above: no quote can reach this literal.
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "  # nosec B608
            f"THEN CREATE ROLE {_ident(role)} LOGIN; END IF; END $$"
        )
        statements.append(f"GRANT CONNECT ON DATABASE {_ident(database)} TO {_ident(role)}")
        statements.append(f"GRANT USAGE ON SCHEMA public TO {_ident(role)}")
    statements += [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {_ident(app_role)}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {_ident(app_role)}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {traces} FROM {_ident(app_role)}",
        f"GRANT SELECT, INSERT ON {traces} TO {_ident(app_role)}",
        f"GRANT SELECT, DELETE ON {traces} TO {_ident(maintenance_role)}",
        f"GRANT SELECT, INSERT ON {_ident(AuditSeal._meta.db_table)} TO {_ident(maintenance_role)}",
        f"GRANT INSERT ON {_ident(AuditCheckpoint._meta.db_table)} TO {_ident(maintenance_role)}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {_ident(maintenance_role)}",
    ]
    return statements


class Command(BaseCommand):
    help = "Print (or apply with --apply) the PostgreSQL role setup protecting the trace tables."

    def add_arguments(self, parser):
        parser.add_argument("--app-role", default="chu_portal_app")
        parser.add_argument("--maintenance-role", default="chu_portal_maintenance")
        parser.add_argument("--apply", action="store_true", help="execute the statements on the database")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("database roles apply to PostgreSQL only")
        statements = role_setup_sql(options["app_role"], options["maintenance_role"], connection.settings_dict["NAME"])
        if not options["apply"]:
            for statement in statements:
                self.stdout.write(statement + ";")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(f"applied {len(statements)} statements")
