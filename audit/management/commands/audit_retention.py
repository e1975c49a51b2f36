"""`manage.py audit_retention [--dry-run]`: remove sealed trace segments past the retention policy."""

from django.core.management.base import BaseCommand, CommandError

from audit import retention


class Command(BaseCommand):
    help = (
        "Remove whole sealed segments of traces that are all past the retention policy (docs/domain.md), "
        "through the maintenance database, and keep a checkpoint so that the rest still verifies."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")

    def handle(self, *args, **options):
        plan = retention.plan()
        self.stdout.write(
            f"policy: care-related traces before {plan.care_cutoff:%Y-%m-%d} (patient inactive since), "
            f"technical traces before {plan.technical_cutoff:%Y-%m-%d}"
        )
        if not plan.segments:
            self.stdout.write("nothing to remove")
            return
        first, last = plan.segments[0], plan.segments[-1]
        summary = f"{len(plan.segments)} seals (#{first.seal_id} to #{last.seal_id}), {plan.events} traces"
        if options["dry_run"]:
            self.stdout.write(f"dry run: would remove {summary}; checkpoint hash {last.hash}")
            return
        try:
            checkpoint = retention.apply(plan)
        except retention.RetentionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"removed {summary}; checkpoint {checkpoint.pk} keeps hash {checkpoint.hash}")
