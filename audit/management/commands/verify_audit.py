"""`manage.py verify_audit`: check the trace chain; print OK or the first broken trace, exit 1 on a break."""

from django.core.management.base import BaseCommand, CommandError

from audit import integrity


class Command(BaseCommand):
    help = "Seal pending traces, then verify every seal and trace; exit non-zero on a break."

    def add_arguments(self, parser):
        parser.add_argument("--no-seal", action="store_true", help="verify without sealing pending traces first")

    def handle(self, *args, **options):
        result = integrity.verify(seal_first=not options["no_seal"])
        if result.ok:
            self.stdout.write(f"OK: {result.checked} traces verified, {result.unsealed} not sealed yet")
            return
        event = result.first_broken
        where = f"trace #{result.first_broken_id}"
        if event is not None:
            where += f" ({event.public_id}, {event.at.isoformat()}, {event.actor_username} {event.action})"
        raise CommandError(f"BROKEN at {where}: {result.problem}; {result.checked} traces checked")
