"""Benchmark of the DMP feed: signed reports delivered per second by a real worker, against a no-op task.

Run it against a throw-away PostgreSQL database (docs/benchmarks.md has the exact command). It
migrates, creates one clinician, one patient with a qualified INS and an active DMP, and N signed
reports (through records.services.reports.report_sign, so each writes its outbox row with the PDF rendered
at signing; their messages are parked on a queue no worker reads). It starts its own redis-server
on a free port (or uses --redis-url) and one Celery worker (DEBUG off, as in production), then:
  1. feed: sends the N delivery messages and times until the queue is drained and acknowledged (each
     message relays a batch of up to DMP_FEED_BATCH_SIZE pending items, --batch-size; the messages of
     items a batch took before them find them delivered);
  2. no-op: sends N messages of a task that does nothing, on the same queue and worker, timed alike;
  3. one row: N messages of a task that inserts one row in its own transaction (a reference: the
     floor of any task that writes to the database).
It prints the rates, each beside the machine's load before and during its measurement, and the
feed/no-op ratio (goal: >= 1.0), computed only from two figures of this run (bench/measure.py); and
checks that every report has exactly one DMP document.
"""

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.measure import RUN, load_now, load_text, measured, ratio  # noqa: E402 - after the path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chu_portal.settings")
# Development settings unless told otherwise (DEBUG defaults to off, which needs a SECRET_KEY).
os.environ.setdefault("DEBUG", "true")

QUEUE = "feed_bench"
PARKED = "feed_bench_parked"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--redis-url", default="", help="use this Redis (e.g. redis://127.0.0.1:6379/14)")
    parser.add_argument("--db-reuse-max", type=int, default=100, help="CELERY_DB_REUSE_MAX of the worker (0: off)")
    parser.add_argument("--batch-size", type=int, default=0, help="DMP_FEED_BATCH_SIZE of the worker (0: the setting)")
    args = parser.parse_args()

    media = Path(tempfile.mkdtemp(prefix="feed-bench-media-"))
    redis_process = None
    redis_url = args.redis_url
    if not redis_url:
        port = free_port()
        redis_process = subprocess.Popen(  # noqa: S603
            [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        redis_url = f"redis://127.0.0.1:{port}/0"
        time.sleep(0.5)
    os.environ.update(
        {
            "REDIS_URL": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "MEDIA_ROOT": str(media),
            "DMP_FEED_QUEUE": PARKED,
            "LOG_LEVEL": "WARNING",
        }
    )
    worker = None
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        import redis

        client = redis.Redis.from_url(redis_url)
        client.delete(QUEUE, PARKED, "unacked", "unacked_index")

        ids = prepare(args.reports)
        from django.db import connection

        from bench.feed_noop import PROBE_TABLE

        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (id bigserial PRIMARY KEY, item_id bigint)")
        env = {
            **os.environ,
            "DMP_FEED_QUEUE": QUEUE,
            "CELERY_DB_REUSE_MAX": str(args.db_reuse_max),
            **({"DMP_FEED_BATCH_SIZE": str(args.batch_size)} if args.batch_size else {}),
            "CELERY_SKIP_CHECKS": "1",
            # The worker runs as in production: DEBUG off (no query log), a throw-away key.
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
        }
        worker = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "chu_portal",
                "worker",
                "-Q",
                QUEUE,
                "-c",
                str(args.concurrency),
                "-P",
                "prefork",
                "--include",
                "bench.feed_noop",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "warning",
                "-n",
                f"feedbench{os.getpid()}@%h",
            ],
            cwd=REPO,
            env=env,
            start_new_session=True,
        )
        from bench.feed_noop import noop, one_row
        from dmp.feed.tasks import feed_deliver

        # Warm up the worker's processes (imports, connections) with a few no-ops, untimed.
        timed(client, lambda: [noop.apply_async(args=[0], queue=QUEUE) for _ in range(20)], 20)

        def rate(task) -> dict:
            seconds = timed(client, lambda: [task.apply_async(args=[i], queue=QUEUE) for i in ids], len(ids))
            return {"seconds_timed": seconds, "rate": len(ids) / seconds}

        before = load_now()
        feed = measured(lambda: rate(feed_deliver))
        check(ids)
        noop_figure = measured(lambda: rate(noop))
        # Reference: a task that inserts one row in its own transaction (any database write's floor).
        row = measured(lambda: rate(one_row))
        print(f"run {RUN}, load before the run: {before}")
        print(f"reports: {len(ids)}, worker concurrency: {args.concurrency}, CELERY_DB_REUSE_MAX: {args.db_reuse_max}")
        print(f"DMP_FEED_BATCH_SIZE: {args.batch_size or settings.DMP_FEED_BATCH_SIZE}")
        for name, figure, unit in (
            ("feed", feed, "documents/s"),
            ("no-op", noop_figure, "tasks/s"),
            ("one row", row, "tasks/s"),
        ):
            print(
                f"{name + ':':<8} {figure['seconds_timed']:7.2f} s  {figure['rate']:8.1f} {unit}  {load_text(figure)}"
            )
        print(f"one row / no-op (reference): {ratio(row, noop_figure, 'rate'):.2f}")
        print(f"ratio feed / no-op: {ratio(feed, noop_figure, 'rate'):.2f} (goal >= 1.0)")
        print(f"database: {settings.DATABASES['default']['NAME']}, broker: {redis_url}")
    finally:
        if worker is not None:
            os.killpg(worker.pid, 15)
            worker.wait(timeout=30)
        if redis_process is not None:
            redis_process.kill()
        shutil.rmtree(media, ignore_errors=True)


def prepare(n: int) -> list[int]:
    """One clinician, one qualified patient with an active DMP, n signed reports (outbox rows pending)."""
    import datetime

    from django.utils import timezone
    from stdnum.fr import nir

    from accounts.models import Profession, ProfessionalProfile, Role, Unit, User
    from accounts.validators import make_rpps
    from dmp.constants import FeedStatus
    from dmp.models import FeedItem
    from dmp.services.records import shared_record_for
    from records.constants import INS_OID_TEST, InsStatus, ReportType, StayKind
    from records.models import Patient, Stay

    unit, _ = Unit.objects.get_or_create(code="BENCH", defaults={"name": "Unité de mesure"})
    doctor, created = User.objects.get_or_create(
        username="bench.doctor", defaults={"role": Role.CHU_CLINICIAN, "last_name": "Mesure"}
    )
    if created:
        profile = ProfessionalProfile.objects.create(
            user=doctor, rpps=make_rpps("3000000001"), profession=Profession.MEDECIN
        )
        profile.units.add(unit)
    patient, _ = Patient.objects.get_or_create(
        ipp="7000000001",
        defaults={
            "birth_name": "MESURE",
            "first_names": "Alex",
            "birth_date": datetime.date(1980, 1, 1),
            "sex": "F",
            "nir": "2800175056123" + nir.calc_check_digits("2800175056123" + "00"),
            "ins_oid": INS_OID_TEST,
            "ins_status": InsStatus.QUALIFIED,
            "ins_retrieved_at": timezone.now(),
            "identity_document_checked": True,
            "identity_qualified_at": timezone.now(),
        },
    )
    shared_record_for(patient)
    stay, _ = Stay.objects.get_or_create(
        patient=patient,
        unit=unit,
        kind=StayKind.HOSPITALISATION,
        defaults={"admitted_at": timezone.now() - datetime.timedelta(days=3), "discharged_at": None},
    )
    from records.services import reports as reports_service

    started = time.monotonic()
    new_ids, signing = [], 0.0
    for i in range(n):
        draft = reports_service.report_create_draft(
            actor=doctor,
            stay_id=stay.public_id,
            type_code=ReportType.DISCHARGE_LETTER,
            title=f"Lettre de liaison {i}",
            body="Sortie à domicile.\n" + "Traitement inchangé, surveillance clinique et biologique. " * 10,
        )
        signed_at = time.perf_counter()
        reports_service.report_sign(actor=doctor, report_id=draft.public_id)
        signing += time.perf_counter() - signed_at
        new_ids.append(FeedItem.objects.get(report=draft).pk)
    print(f"signed {n} reports in {time.monotonic() - started:.1f} s (outbox rows written in the signing transactions)")
    print(f"signing: {signing / max(n, 1) * 1000:.1f} ms per report_sign on average (the PDF rendered inside)")
    assert FeedItem.objects.filter(pk__in=new_ids, status=FeedStatus.PENDING).count() == n
    return new_ids


def timed(client, send, n: int) -> float:
    """Seconds from the first message sent until the queue is empty and every message acknowledged."""
    started = time.monotonic()
    send()
    time.sleep(0.01)
    while client.llen(QUEUE) or client.hlen("unacked"):
        time.sleep(0.005)
    return time.monotonic() - started


def check(ids: list[int]) -> None:
    from dmp.constants import FeedStatus
    from dmp.models import FeedItem, SharedDocument

    items = FeedItem.objects.filter(pk__in=ids)
    assert items.filter(status=FeedStatus.DELIVERED).count() == len(ids), "every item delivered"
    reports = items.values_list("report__public_id", flat=True)
    assert SharedDocument.objects.filter(source_report_id__in=reports).count() == len(ids), "one document each"


if __name__ == "__main__":
    main()
