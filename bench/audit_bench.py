"""Benchmark of the audit trail: CSV export peak memory and verification speed (never part of the test run).

Run it against a throw-away PostgreSQL database (docs/benchmarks.md has the exact command):
it migrates, bulk-inserts synthetic traces with INSERT ... SELECT generate_series (in
transactions of 5,000 rows, as the application writes them in many transactions), seals them,
measures the streamed CSV export of the first --export traces and the verification of all of
them, then tampers with one trace and checks that verification names it.
"""

import argparse
import datetime
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chu_portal.settings")
# Development settings unless told otherwise (DEBUG defaults to off, which needs a SECRET_KEY).
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from audit import exports, integrity, selectors  # noqa: E402
from audit.models import AuditEvent  # noqa: E402

START = datetime.datetime(2026, 1, 5, 8, 0, tzinfo=datetime.UTC)
STEP_MS = 2_000  # one trace every 2 s of synthetic time
BATCH = 5_000

INSERT = """
INSERT INTO audit_auditevent (public_id, at, actor_id, actor_username, actor_name, actor_role, actor_rpps,
    patient_id, action, object_type, object_id, object_ids, outcome, mode, reason, flagged, flag_reason, ip, request_id)
SELECT md5('e' || g)::uuid,
       %(start)s::timestamptz + (g * %(step)s) * interval '1 millisecond',
       md5('a' || (g %% 200))::uuid, 'user' || (g %% 200), 'Soignant ' || (g %% 200), 'chu_clinician',
       lpad(((g %% 200) + 10000000000)::text, 11, '0'),
       md5('p' || (g %% 20000))::uuid,
       CASE WHEN g %% 10 = 0 THEN 'list' ELSE 'read' END, 'hospital_record', md5('o' || g), '[]'::jsonb,
       CASE WHEN g %% 50 = 0 THEN 'denied' ELSE 'allowed' END,
       CASE WHEN g %% 50 = 0 THEN '' WHEN g %% 997 = 0 THEN 'emergency' ELSE 'care_team' END,
       CASE WHEN g %% 50 = 0 THEN 'forbidden' ELSE '' END,
       g %% 997 = 0 AND g %% 50 <> 0, CASE WHEN g %% 997 = 0 AND g %% 50 <> 0 THEN 'emergency_access' ELSE '' END,
       '10.0.0.1', md5('r' || g)
FROM generate_series(%(low)s, %(high)s) AS g
"""


def generate(total: int) -> float:
    started = time.monotonic()
    for low in range(0, total, BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(INSERT, {"start": START, "step": STEP_MS, "low": low, "high": min(low + BATCH, total) - 1})
    return time.monotonic() - started


def export_memory(rows: int) -> dict:
    until = START + datetime.timedelta(milliseconds=STEP_MS * rows)
    filters = selectors.TraceFilter(since=START, until=until)
    tracemalloc.start()
    started = time.monotonic()
    written = count = 0
    for chunk in exports.csv_rows(selectors.events_for_export(filters)):
        written += len(chunk)
        count += 1
    elapsed = time.monotonic() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # For contrast: the same rows loaded at once.
    tracemalloc.start()
    loaded = list(AuditEvent.objects.filter(at__gte=START, at__lt=until).values())
    _current, loaded_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del loaded
    return {
        "rows": count - 1,
        "bytes": written,
        "seconds": elapsed,
        "peak_mib": peak / 2**20,
        "loaded_peak_mib": loaded_peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--export", type=int, default=100_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith("chu_bench"):
        sys.exit("run against a throw-away PostgreSQL database named chu_bench* (DATABASE_URL)")
    call_command("migrate", verbosity=0)
    if AuditEvent.objects.exists():
        sys.exit("the benchmark database must be empty: drop and create it again")

    print(f"generating {args.traces:,} traces ...", flush=True)
    print(f"  inserted in {generate(args.traces):.1f} s")

    started = time.monotonic()
    sealed = 0
    # The sealing horizon is the cluster's oldest running transaction: on a shared server, wait
    # for older transactions of other databases to finish.
    while sealed < args.traces and time.monotonic() - started < 600:
        n = integrity.seal_pending()
        sealed += n
        if not n:
            time.sleep(0.2)
    seal_s = time.monotonic() - started
    print(f"sealing: {sealed:,} traces in {seal_s:.1f} s ({sealed / seal_s:,.0f} traces/s)")

    result = export_memory(args.export)
    print(
        f"CSV export of {result['rows']:,} traces: {result['bytes'] / 2**20:.1f} MiB in {result['seconds']:.1f} s, "
        f"peak Python memory {result['peak_mib']:.1f} MiB (loading them all at once instead: "
        f"{result['loaded_peak_mib']:.1f} MiB)"
    )

    started = time.monotonic()
    check = integrity.verify(seal_first=False)
    verify_s = time.monotonic() - started
    print(
        f"verification: ok={check.ok}, {check.checked:,} traces in {verify_s:.1f} s ({check.checked / verify_s:,.0f} traces/s)"
    )

    victim = AuditEvent.objects.order_by("id").values_list("id", flat=True)[args.traces // 2]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL chu.audit_maintenance = 'on'")
        cursor.execute("UPDATE audit_auditevent SET actor_username = 'intrus' WHERE id = %s", [victim])
    started = time.monotonic()
    check = integrity.verify(seal_first=False)
    print(
        f"after tampering with trace #{victim}: ok={check.ok}, first broken #{check.first_broken_id} "
        f"({check.problem}), named exactly: {check.first_broken_id == victim}, in {time.monotonic() - started:.1f} s"
    )
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
