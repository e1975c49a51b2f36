"""List or remove stored document files that no DMP document references (dmp/feed/orphans.py)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from dmp.feed import orphans as feed_orphans


class Command(BaseCommand):
    help = "Remove stored document files no DMP document references (older than the grace period); traced."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list them, remove nothing")
        parser.add_argument(
            "--older-than-hours", type=int, default=None, help="grace period (default: DMP_ORPHAN_FILE_GRACE_HOURS)"
        )

    def handle(self, *args, dry_run: bool, older_than_hours: int | None, **options):
        grace = timedelta(hours=older_than_hours) if older_than_hours is not None else None
        names = feed_orphans.remove_orphan_files(older_than=grace, dry_run=dry_run)
        for name in names:
            self.stdout.write(name)
        verb = "would be removed" if dry_run else "removed"
        self.stderr.write(f"{len(names)} orphan file(s) {verb}.")
