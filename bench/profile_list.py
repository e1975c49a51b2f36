"""Where a typical patient's audited DMP list spends its CPU (issue 23): cProfile over in-process requests.

`python -m bench.profile_list` creates a throw-away PostgreSQL database (`--db`, dropped at the end unless
`--keep-db`; `--reuse` profiles a database kept from an earlier run), seeds the benchmark's small shape
(bench/seed.py: typical patients with 50 current documents, a clinician with a consent grant on them,
patient accounts, API tokens issued directly), then sends each measured request through Django's test
Client, DEBUG off, with the production middleware, static files storage and Redis cache (`--redis-url`):

- `api-clinician`: GET /api/v1/dmp/{patient}/documents/ with a clinician's API token (consent mode: the
  access matrix applies), one trace per request;
- `api-patient`: the same list with the patient's own token (self mode);
- `page-patient`: the patient's DMP page (/dmp/, signed in), the same service rendered by a template;
- `naive` (with `--naive`): the reference of the issue, 25 rows read and one trace inserted, no
  authentication (bench/naive.py, routed by a bench-only URLconf, never by the portal's).

For each case it warms up, checks the status and the number of queries, times `--requests` requests
(wall clock, per request), then profiles as many again under cProfile and prints the functions with the
most time of their own and the share of time by package. Absolute times depend on the machine's load
(printed beside them); the relative costs are what the profile is for. docs/benchmarks.md records a run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ("api-clinician", "api-patient", "page-patient")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_list", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="chu_perf_profile", help="throw-away database (created, then dropped)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12", help="the cache, as in production")
    parser.add_argument("--requests", type=int, default=200, help="requests timed, then as many profiled, per case")
    parser.add_argument("--top", type=int, default=25, help="functions listed per case")
    parser.add_argument("--case", action="append", choices=(*CASES, "naive"), help="only these cases (repeatable)")
    parser.add_argument("--naive", action="store_true", help="also the naive reference view (bench/naive.py)")
    parser.add_argument("--keep-db", action="store_true", help="keep the database (and the static files)")
    parser.add_argument("--reuse", action="store_true", help="profile a database kept by an earlier --keep-db run")
    parser.add_argument("--dump", help="also write each case's raw profile to DUMP-<case>.prof")
    return parser.parse_args(argv)


def setup_env(args, workdir: Path) -> None:
    if not args.db.startswith(("chu_bench", "chu_perf")):
        sys.exit("the profile's database name must start with chu_bench or chu_perf (it is dropped)")
    os.environ.update(
        {
            "DATABASE_URL": f"{args.pg}/{args.db}",
            "REDIS_URL": args.redis_url,
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdefghijklmnop",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "SECURE_SSL_REDIRECT": "false",
            "MEDIA_ROOT": str(workdir / "media"),
            "STATIC_ROOT": str(workdir / "static"),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "chu_portal.settings",
        }
    )


def admin_sql(args, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def seed_database() -> None:
    from django.core.management import call_command

    from bench import seed

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    seed.create_base(patients=200, load_patients=4, clinicians=4, gps=2)
    seed.add_documents(seed.TYPICAL * seed.TYPICAL_DOCS)
    seed.add_traces(2_000, 200)
    seed.analyze()


def clients(naive: bool) -> dict:
    """Each case: (client, path, headers). Tokens are issued anew each run (their raw value is not stored)."""
    from django.test import Client

    from accounts.models import ApiToken, User
    from bench import seed
    from dmp.models import SharedRecord

    typical = str(SharedRecord.objects.order_by("patient_id").values_list("patient__public_id", flat=True)[0])
    clinician = User.objects.filter(username__startswith="bclin").order_by("username").first()
    patient = User.objects.get(patient__public_id=typical)
    _token, clinician_token = ApiToken.issue(clinician)
    _token, patient_token = ApiToken.issue(patient)
    plain = Client()
    page_client = Client()
    page_client.force_login(patient)
    cases = {
        "api-clinician": (
            plain,
            f"/api/v1/dmp/{typical}/documents/",
            {"HTTP_AUTHORIZATION": f"Token {clinician_token}"},
        ),
        "api-patient": (plain, f"/api/v1/dmp/{typical}/documents/", {"HTTP_AUTHORIZATION": f"Token {patient_token}"}),
        "page-patient": (page_client, "/dmp/", {}),
    }
    if naive:
        from bench.naive import PATH

        cases["naive"] = (Client(), PATH, {})
    assert seed.TYPICAL_DOCS == 50
    return cases


def bucket(filename: str) -> str:
    """A function's file, as the package (or project app) it belongs to."""
    path = filename.replace("\\", "/")
    if "site-packages/" in path:
        parts = path.split("site-packages/", 1)[1].split("/")
        if parts[0] == "django" and len(parts) > 2:
            return f"django.{parts[1]}"  # django.db, django.template, django.utils...
        return parts[0].removesuffix(".py")
    if path.startswith(str(ROOT)):
        return "portal:" + path[len(str(ROOT)) + 1 :].split("/")[0].removesuffix(".py")
    if path.startswith("<") or path.startswith("~"):
        return "builtins"
    return "stdlib"


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    totals: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        totals[bucket(filename)] += tottime
    return sorted(totals.items(), key=lambda item: -item[1])


def profile_case(name: str, client, path: str, headers: dict, args) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):  # warm: per-process caches, the first compilation of templates and URL patterns
        response = client.get(path, **headers)
    if response.status_code != 200:
        sys.exit(f"{name}: HTTP {response.status_code} on {path}: {response.content[:300]!r}")
    with CaptureQueriesContext(connection) as queries:
        client.get(path, **headers)
    query_count = len(queries)  # now: each request that follows empties the connection's log
    load_before = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(args.requests):
        client.get(path, **headers)
    wall_ms = (time.perf_counter() - started) * 1000 / args.requests
    # This process's CPU only: PostgreSQL's work and the waits on a shared machine are not in it.
    cpu_ms = (time.process_time() - cpu_started) * 1000 / args.requests
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        client.get(path, **headers)
    profiler.disable()
    if args.dump:
        profiler.dump_stats(f"{args.dump}-{name}.prof")
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"\n=== {name}: GET {path}")
    print(
        f"    {query_count} queries, {len(response.content):,} bytes; {wall_ms:.2f} ms per request unprofiled "
        f"({cpu_ms:.2f} ms of this process's CPU) "
        f"({args.requests} requests, load {load_before:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs); "
        f"profiled: {total * 1000 / args.requests:.2f} ms per request"
    )
    print("    own time by package:")
    for package, seconds in by_package(stats)[:14]:
        print(f"      {100 * seconds / total:5.1f} %  {package}")
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("tottime").print_stats(args.top)
    print("    functions by own time (tottime), then by cumulative time:")
    print(_table(out.getvalue()))
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("cumulative").print_stats(args.top)
    print(_table(out.getvalue()))
    return {"queries": query_count, "wall_ms": wall_ms, "cpu_ms": cpu_ms, "profiled_ms": total * 1000 / args.requests}


def _table(text: str) -> str:
    """pstats' table without its preamble, with the project's root cut from file names."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    return "\n".join(line.replace(str(ROOT) + "/", "") for line in lines[start:] if line.strip())


def main(argv=None) -> None:
    args = parse_args(argv)
    workdir = Path(tempfile.gettempdir()) / f"{args.db}-files"
    workdir.mkdir(exist_ok=True)
    setup_env(args, workdir)
    sys.path.insert(0, str(ROOT))
    if not args.reuse:
        admin_sql(args, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        admin_sql(args, f'CREATE DATABASE "{args.db}"')
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connections

    try:
        if not args.reuse:
            started = time.monotonic()
            seed_database()
            print(f"seeded {args.db} in {time.monotonic() - started:.1f} s")
        cache.clear()
        wanted = args.case or [*CASES, *(["naive"] if args.naive else [])]
        cases = clients(naive="naive" in wanted)
        figures = {}
        for name in wanted:
            if name == "naive":
                from django.test import override_settings

                with override_settings(ROOT_URLCONF="bench.naive"):
                    figures[name] = profile_case(name, *cases[name], args)
            else:
                figures[name] = profile_case(name, *cases[name], args)
        print("\nsummary per request: wall ms unprofiled, this process's CPU ms, profiled ms; queries")
        for name, figure in figures.items():
            print(
                f"  {name:14} {figure['wall_ms']:7.2f} {figure['cpu_ms']:7.2f} {figure['profiled_ms']:7.2f}"
                f"   {figure['queries']} queries"
            )
    finally:
        connections.close_all()
        if not args.keep_db:
            admin_sql(args, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
