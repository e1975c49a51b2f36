"""The benchmark runner (issue 9): `python -m bench` (or `make bench`), never part of the test run.

In one run, on a throw-away PostgreSQL database it creates and drops, with Redis, and gunicorn
(2 workers, DEBUG off) serving the portal:
1. seeds the small dataset (bench/seed.py) and measures queries per request and the p95 of a
   typical patient's DMP list (50 documents, read by a clinician with a consent grant);
2. grows it to the large dataset (10,000 patients, 100,000 documents, 1,000,000 traces by
   default) and measures the same again;
3. throughput (wrk, closed loop, 32 connections, a separate process) of the audited DMP list
   versus a bare Django JSON view on the same server (BENCH_BARE_VIEW), beside the naive reference of
   issue 23 (bench/naive.py: 25 rows and one trace, no auth; gunicorn runs bench/settings.py, whose
   URLconf alone routes it), and versus pgbench's
   single-row commit rate on the same PostgreSQL;
4. the mixed scenario (bench/load.py, a separate process): 200 users, think time 1-3 s;
5. trace verification speed (audit.integrity.verify over the sealed traces).
Each figure is printed beside its baseline and goal, and beside the machine's load average before
and during its measurement (bench/measure.py); a ratio is computed only from two figures of the same
run (bench.measure.ratio refuses any other pair). Needs wrk (Debian: apt-get install wrk) and pgbench
(Debian: postgresql-client); its Python packages are requirements-bench.txt (`make bench` installs
them). Exact command and figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.measure import RUN, LoadSampler, NotSameRun, load_now, load_text, measured, ratio

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="chu_bench_run", help="throw-away database (created, then dropped)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--small-documents", type=int, default=1_000)
    parser.add_argument("--small-traces", type=int, default=10_000)
    parser.add_argument("--verify-traces", type=int, default=100_000, help="traces sealed, then verified")
    parser.add_argument("--users", type=int, default=200, help="simulated users of the mixed scenario")
    parser.add_argument("--duration", type=float, default=300, help="mixed scenario, seconds (issue: 5 minutes)")
    parser.add_argument("--wrk-seconds", type=int, default=20, help="each throughput measurement")
    parser.add_argument("--latency-seconds", type=int, default=15, help="each p95 measurement")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (closed loop)")
    parser.add_argument("--keep-db", action="store_true", help="keep the database and files at the end")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args()


def check_tools() -> None:
    """Fail at once, not minutes into the run, when a tool or a Python package is missing."""
    missing = [tool for tool in ("wrk", "pgbench") if shutil.which(tool) is None]
    if missing:
        sys.exit(
            f"missing: {', '.join(missing)}. On Debian: apt-get install -y wrk postgresql-client "
            "(wrk: the HTTP load generator; pgbench: PostgreSQL's own benchmark)."
        )
    import importlib.util

    packages = [name for name in ("aiohttp", "psycopg", "gunicorn") if importlib.util.find_spec(name) is None]
    if packages:
        sys.exit(
            f"missing Python packages: {', '.join(packages)}. `make bench` installs them "
            "(or: .venv/bin/python -m pip install -r requirements-bench.txt)."
        )


def setup_env(args, workdir: Path) -> dict:
    if not args.db.startswith(("chu_bench", "chu_perf")):
        sys.exit("the benchmark database name must start with chu_bench or chu_perf (it is dropped)")
    env = {
        "DATABASE_URL": f"{args.pg}/{args.db}",
        "REDIS_URL": args.redis_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdefghijklmnop",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "MEDIA_ROOT": str(workdir / "media"),
        "STATIC_ROOT": str(workdir / "static"),
        "BENCH_BARE_VIEW": "true",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "chu_portal.settings",
    }
    os.environ.update(env)
    return dict(os.environ)


def admin_sql(args, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def create_db(args) -> None:
    admin_sql(args, f'DROP DATABASE IF EXISTS "{args.db}"')
    admin_sql(args, f'CREATE DATABASE "{args.db}"')


def drop_db(args) -> None:
    from django.db import connections

    connections.close_all()
    admin_sql(args, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Server and tools ---------------------------------------------------------------------------


def start_gunicorn(args, env, workdir: Path) -> subprocess.Popen:
    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "chu_portal.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "bench.settings"},  # + the naive reference view (bench/naive.py)
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/health/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    sys.exit(f"gunicorn did not answer on port {args.port}: see {workdir / 'gunicorn.log'}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wrk(url: str, *, connections: int, seconds: int, workdir: Path, headers=()) -> dict:
    script = workdir / "report.lua"
    script.write_text(WRK_SCRIPT)
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", str(script), "--timeout", "10s"]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in output.splitlines() if ln.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    for key in ("p50", "p95", "p99"):
        result[f"{key}_ms"] = result.pop(f"{key}_us") / 1000
    return result


def pgbench_commit_rate(args, workdir: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_commit (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())"
        )
    script = workdir / "commit.sql"
    script.write_text("INSERT INTO bench_commit DEFAULT VALUES;\n")
    output = subprocess.run(
        [
            "pgbench",
            "-n",
            "-c",
            str(args.connections),
            "-j",
            "2",
            "-T",
            "10",
            "-f",
            str(script),
            f"{args.pg}/{args.db}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(r"tps = ([0-9.]+)", output).group(1))


# --- Measurements -------------------------------------------------------------------------------


def query_counts(users: dict) -> dict[str, int]:
    """Queries of one request to each main page and endpoint (in-process, warm)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from dmp.models import SharedDocument

    typical = users["typical"][0]
    document = SharedDocument.objects.filter(record__patient__public_id=typical).order_by("-created_at").first()
    clinician = {"HTTP_AUTHORIZATION": f"Token {users['clinicians'][0]['token']}"}
    patient = {"HTTP_AUTHORIZATION": f"Token {users['patients'][0]['token']}"}
    unit_patient = users["clinicians"][0]["unit_patients"][0]
    patient_client = Client()
    patient_client.force_login(User.objects.get(patient__public_id=users["patients"][0]["patient_id"]))
    gp_client = Client()
    gp_client.cookies["sessionid"] = users["gps"][0]["session"]
    plain = Client()
    cases = {
        "API DMP list, clinician with consent (50 docs)": (plain, f"/api/v1/dmp/{typical}/documents/", clinician),
        "API DMP list, the patient (50 docs)": (plain, f"/api/v1/dmp/{typical}/documents/", patient),
        "API DMP document, clinician": (plain, f"/api/v1/dmp/documents/{document.public_id}/", clinician),
        "API hospital record, clinician (care team)": (plain, f"/api/v1/patients/{unit_patient}/record/", clinician),
        "API me": (plain, "/api/v1/me/", clinician),
        "page: patient's DMP home": (patient_client, "/dmp/", {}),
        "page: GP dashboard": (gp_client, "/dmp/pro/nouveaux-documents/", {}),
    }
    counts = {}
    for name, (client, url, headers) in cases.items():
        client.get(url, **headers)  # warm: per-process caches
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **headers)
        counts[name] = len(queries) if response.status_code == 200 else f"HTTP {response.status_code}"
    return counts


def typical_latency(args, users, workdir) -> dict:
    url = f"http://127.0.0.1:{args.port}/api/v1/dmp/{users['typical'][0]}/documents/"
    header = f"Authorization: Token {users['clinicians'][0]['token']}"
    return wrk(url, connections=2, seconds=args.latency_seconds, workdir=workdir, headers=[header])


def seal_all(limit_seconds: float = 120) -> int:
    from audit import integrity
    from audit.models import AuditEvent, AuditSeal

    started = time.monotonic()
    sealed = 0
    while time.monotonic() - started < limit_seconds:
        n = integrity.seal_pending()
        sealed += n
        last = AuditSeal.objects.order_by("-id").values_list("last_event_id", flat=True).first()
        if last is not None and not AuditEvent.objects.filter(id__gt=last).exists():
            break
        if not n:
            time.sleep(0.5)  # the horizon waits for older transactions (of anybody) to finish
    return sealed


def mixed(args, env, users, workdir) -> dict:
    users_file = workdir / "users.json"
    users_file.write_text(json.dumps(users))
    pdf = workdir / "upload.pdf"
    from bench.seed import pdf_bytes

    pdf.write_bytes(pdf_bytes("Document déposé par le patient (banc de mesure)"))
    output = subprocess.run(
        [
            PYTHON,
            "-m",
            "bench.load",
            str(users_file),
            "--base-url",
            f"http://127.0.0.1:{args.port}",
            "--users",
            str(args.users),
            "--duration",
            str(args.duration),
            "--pdf",
            str(pdf),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --- Report -------------------------------------------------------------------------------------


def fmt(value, unit="") -> str:
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return str(value)


def ratio_or_refusal(numerator: dict, denominator: dict, key: str, denominator_key: str | None = None) -> float | None:
    """The ratio of two figures of this run; None (reported as refused) for figures of different runs."""
    try:
        return ratio(numerator, denominator, key, denominator_key)
    except NotSameRun as refusal:
        print(f"   refused: {refusal}")
        return None


def shown(value: float | None, spec: str = ".2f") -> str:
    return "refused (not measured in the same run)" if value is None else format(value, spec)


def report(figures: dict, args) -> None:
    print()
    print("=" * 100)
    print(f"CHU Portal benchmark — {figures['date']} — {figures['machine']} — run {figures['run']}")
    load = figures["load"]
    print(
        f"load average before the run (1, 5, 15 min): {figures['load_before_run']}; during the run: mean "
        f"{load['during_mean']:.2f}, max {load['during_max']:.2f} on {load['cpus']} CPUs"
    )
    print(
        f"sizes: small {args.small_documents:,} documents / {args.small_traces:,} traces; large "
        f"{args.patients:,} patients / {args.documents:,} documents / {figures['large_traces']:,} traces"
    )
    print("=" * 100)

    print("\n1. Queries per request (small data | large data) — goal: equal")
    print(f"   small: {load_text(figures['queries_small'])}; large: {load_text(figures['queries_large'])}")
    for name, small in figures["queries_small"]["counts"].items():
        large = figures["queries_large"]["counts"][name]
        print(f"   {name:<50} {fmt(small):>8} | {fmt(large):>8}   {'equal' if small == large else 'DIFFERENT'}")
    print(f"   goal met: {figures['goals']['queries_equal']}")

    t = figures["throughput"]
    print(f"\n2. Throughput, wrk closed loop, {args.connections} connections, {args.wrk_seconds} s each")
    print(
        f"   bare Django JSON view (baseline)         {t['bare']['rps']:>10,.0f} req/s  (p95 {t['bare']['p95_ms']:.1f} ms)"
        f"  {load_text(t['bare'])}"
    )
    print(
        f"   audited DMP list (50 docs, 1 trace/read)  {t['audited']['rps']:>10,.0f} req/s  "
        f"(p95 {t['audited']['p95_ms']:.1f} ms, non-2xx {t['audited']['non2xx']}, socket errors "
        f"{t['audited']['socket_errors']})  {load_text(t['audited'])}"
    )
    print(f"   ratio audited / bare: {shown(t['ratio_bare'])}   goal >= 0.35: {figures['goals']['throughput_ratio']}")
    print(
        f"   naive reference (25 rows, 1 trace, no auth) {t['naive']['rps']:>7,.0f} req/s  "
        f"(p95 {t['naive']['p95_ms']:.1f} ms, non-2xx {t['naive']['non2xx']})  {load_text(t['naive'])}"
    )
    print(f"   ratio naive / bare: {shown(t['ratio_naive'])}   (the issue's reference: 0.21 on its machine)")

    print("\n3. The same audited read versus PostgreSQL's single-row commit rate (pgbench)")
    print(
        f"   pgbench, one INSERT per transaction, {args.connections} clients: {t['pgbench']['tps']:,.0f} commits/s"
        f"  {load_text(t['pgbench'])}"
    )
    print(
        f"   audited DMP list: {t['audited']['rps']:,.0f} req/s = {shown(t['ratio_pgbench'], '.4f')} of the commit rate"
    )

    lat = figures["latency"]
    print("\n4. p95 of a typical patient's DMP list (50 docs, clinician with consent, wrk 2 connections)")
    for size in ("small", "large"):
        print(
            f"   {size} data: p50 {lat[size]['p50_ms']:.1f} ms, p95 {lat[size]['p95_ms']:.1f} ms  {load_text(lat[size])}"
        )
    print(f"   ratio large / small: {shown(lat['ratio'])}   goal <= 1.5: {figures['goals']['latency_ratio']}")

    m = figures["mixed"]
    print(f"\n5. Mixed scenario: {args.users} users, think time 1-3 s, {args.duration:.0f} s")
    print(
        f"   {m['requests']:,} requests ({m['rps']:.1f}/s): p50 {m['p50_ms']:.1f} ms, p95 {m['p95_ms']:.1f} ms, "
        f"p99 {m['p99_ms']:.1f} ms, errors {m['errors']}"
    )
    print(f"   {load_text(m)}")
    for kind, k in m["kinds"].items():
        print(
            f"     {kind:<22} {k['requests']:>7,} req  p50 {k['p50_ms']:7.1f}  p95 {k['p95_ms']:7.1f}  "
            f"p99 {k['p99_ms']:7.1f} ms  errors {k['errors']}"
        )
    for sample in m["error_samples"]:
        print(f"     error: {sample}")
    print(f"   goal p95 < 300 ms and 0 errors: {figures['goals']['mixed']}")

    print(
        "\n6. Feed ratio (goal >= 1.0): measured by bench/feed_throughput.py (feed and no-op in one run, with the"
        " load beside each), not by this runner."
    )

    v = figures["verify"]
    print("\n7. Trace verification (audit.integrity.verify over the sealed traces)")
    print(
        f"   sealing: {v['sealed']:,} traces in {v['seal_s']:.1f} s; verification: ok={v['ok']}, "
        f"{v['checked']:,} traces in {v['verify_s']:.1f} s = {v['rate']:,.0f} traces/s"
    )
    print(f"   sealing: {load_text(v['seal'])}; verification: {load_text(v)}")
    print()


def main() -> None:
    args = parse_args()
    check_tools()
    workdir = Path(tempfile.mkdtemp(prefix="chu-bench-"))
    env = setup_env(args, workdir)
    sys.path.insert(0, str(ROOT))
    create_db(args)
    import django

    django.setup()
    from django.core.management import call_command

    from bench import seed

    figures: dict = {
        "run": RUN,
        "load_before_run": load_now(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} CPU, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM",
        "goals": {},
    }
    server = None
    run_load = LoadSampler(interval=5.0).start()
    try:
        step(f"database {args.db}: migrate, collectstatic")
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        started = time.monotonic()
        seed.create_base(patients=args.patients, load_patients=100, clinicians=60, gps=40)
        seed.add_documents(args.small_documents)
        seed.add_traces(args.small_traces, args.patients)
        seed.analyze()
        users = seed.load_users()
        step(f"small dataset seeded in {time.monotonic() - started:.1f} s")
        server = start_gunicorn(args, env, workdir)

        figures["queries_small"] = measured(lambda: {"counts": query_counts(users)})
        figures["latency"] = {"small": measured(lambda: typical_latency(args, users, workdir))}
        step(f"small: p95 {figures['latency']['small']['p95_ms']:.1f} ms")

        def add_and_seal() -> dict:
            seed.add_traces(min(args.verify_traces, args.traces), args.patients)
            return {"sealed": seal_all()}

        seal = measured(add_and_seal)
        sealed, seal_s = seal["sealed"], seal["seconds"]
        step(f"sealed {sealed:,} traces")

        started = time.monotonic()
        seed.add_documents(args.documents)
        docs_s = time.monotonic() - started
        seed.add_traces(args.traces, args.patients)
        seed.analyze()
        step(
            f"large dataset: documents in {docs_s:.1f} s, traces and ANALYZE in "
            f"{time.monotonic() - started - docs_s:.1f} s"
        )
        from audit.models import AuditEvent

        figures["large_traces"] = AuditEvent.objects.count()
        figures["queries_large"] = measured(lambda: {"counts": query_counts(users)})
        figures["latency"]["large"] = measured(lambda: typical_latency(args, users, workdir))
        lat = figures["latency"]
        lat["ratio"] = ratio_or_refusal(lat["large"], lat["small"], "p95_ms")
        step(f"large: p95 {lat['large']['p95_ms']:.1f} ms")

        bare = measured(
            lambda: wrk(
                f"http://127.0.0.1:{args.port}/bench/bare/",
                connections=args.connections,
                seconds=args.wrk_seconds,
                workdir=workdir,
            )
        )
        audited = measured(
            lambda: wrk(
                f"http://127.0.0.1:{args.port}/api/v1/dmp/{users['typical'][0]}/documents/",
                connections=args.connections,
                seconds=args.wrk_seconds,
                workdir=workdir,
                headers=[f"Authorization: Token {users['clinicians'][0]['token']}"],
            )
        )
        naive = measured(
            lambda: wrk(
                f"http://127.0.0.1:{args.port}/bench/naive/",
                connections=args.connections,
                seconds=args.wrk_seconds,
                workdir=workdir,
            )
        )
        pgbench = measured(lambda: {"tps": pgbench_commit_rate(args, workdir)})
        figures["throughput"] = {
            "bare": bare,
            "audited": audited,
            "naive": naive,
            "ratio_naive": ratio_or_refusal(naive, bare, "rps"),
            "pgbench": pgbench,
            "ratio_bare": ratio_or_refusal(audited, bare, "rps"),
            "ratio_pgbench": ratio_or_refusal(audited, pgbench, "rps", "tps"),
        }
        step(
            f"throughput: bare {bare['rps']:.0f}/s, audited {audited['rps']:.0f}/s, naive {naive['rps']:.0f}/s, "
            f"pgbench {pgbench['tps']:.0f} tps"
        )

        step(f"mixed scenario: {args.users} users for {args.duration:.0f} s")
        figures["mixed"] = measured(lambda: mixed(args, env, users, workdir))

        from audit import integrity

        verified = measured(lambda: {"check": integrity.verify(seal_first=False)})
        check, verify_s = verified.pop("check"), verified["seconds"]
        figures["verify"] = {
            **verified,
            "seal": seal,
            "sealed": sealed,
            "seal_s": seal_s,
            "ok": check.ok,
            "checked": check.checked,
            "verify_s": verify_s,
            "rate": check.checked / verify_s if verify_s else 0,
        }
        figures["load"] = run_load.stop()
        goals = figures["goals"]
        goals["queries_equal"] = figures["queries_small"]["counts"] == figures["queries_large"]["counts"]
        goals["throughput_ratio"] = (figures["throughput"]["ratio_bare"] or 0) >= 0.35
        goals["latency_ratio"] = lat["ratio"] is not None and lat["ratio"] <= 1.5
        goals["mixed"] = figures["mixed"]["p95_ms"] < 300 and figures["mixed"]["errors"] == 0
        report(figures, args)
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    finally:
        if server is not None:
            stop_gunicorn(server)
        if not args.keep_db:
            drop_db(args)
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept: database {args.db}, files in {workdir}")


if __name__ == "__main__":
    main()
