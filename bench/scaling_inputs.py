"""The measured inputs of docs/scaling.md's regional extrapolation (never part of the test run).

Against a throw-away PostgreSQL database (docs/benchmarks.md has the command): migrates, inserts
--traces synthetic traces of each of two shapes (a trace naming one document, a list's trace naming
50) and measures what each costs in PostgreSQL (table, indexes and TOAST, `pg_total_relation_size`
before and after), seals them (bytes of seal per trace, traces sealed per second), renders the PDF of
a one-page discharge letter as the feed does, and times one password hash. Each figure is printed
with the machine's load before and during it (bench/measure.py).
"""

import argparse
import datetime
import json
import os
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chu_portal.settings")
# Development settings unless told otherwise (DEBUG defaults to off, which needs a SECRET_KEY).
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from audit import integrity  # noqa: E402
from bench import measure  # noqa: E402
from dmp.pdf import render_report_pdf  # noqa: E402

INSERT = """
INSERT INTO audit_auditevent (public_id, at, actor_id, actor_username, actor_name, actor_role, actor_rpps,
    patient_id, action, object_type, object_id, object_ids, outcome, mode, reason, flagged, flag_reason, ip, request_id)
SELECT gen_random_uuid(), now() - g * interval '1 second', md5('actor' || (g %% 200))::uuid,
       'dr.user' || (g %% 200), 'Dr Prénom Nom ' || (g %% 200), 'external_professional',
       lpad(((g %% 200) + 10000000000)::text, 11, '0'), md5('patient' || g)::uuid, %(action)s, 'dmp_document',
       %(object_id)s, %(object_ids)s::jsonb, 'allowed', 'consent', '', false, '', '10.0.0.1', md5('r' || g)
FROM generate_series(1, %(n)s) AS g
"""
SHAPES = {
    "trace naming one document": {"action": "read", "object_id": str(uuid.uuid4()), "object_ids": "[]"},
    "list trace naming 50 documents": {
        "action": "list",
        "object_id": "",
        "object_ids": json.dumps([str(uuid.uuid4()) for _ in range(50)]),
    },
}
LETTER = (
    "Patiente admise pour fibrillation atriale paroxystique. Traitement anticoagulant introduit, surveillance "
    "rythmique sans particularité, sortie à domicile avec rendez-vous de contrôle en consultation de cardiologie."
)


def _size(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size(%s)", [table])
        return cursor.fetchone()[0]


def trace_bytes(shape: dict, n: int) -> dict:
    before = _size("audit_auditevent")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(INSERT, {**shape, "n": n})
    return {"bytes_per_trace": round((_size("audit_auditevent") - before) / n)}


def sealing() -> dict:
    before = _size("audit_auditseal")
    started = time.perf_counter()
    sealed = integrity.seal_pending()
    seconds = time.perf_counter() - started
    return {
        "sealed": sealed,
        "traces_per_second": round(sealed / seconds),
        "seal_bytes_per_trace": round((_size("audit_auditseal") - before) / sealed, 1),
    }


def letter_pdf() -> dict:
    body = "\n".join([LETTER] * 12)
    report = SimpleNamespace(
        title="Lettre de liaison de sortie",
        author=SimpleNamespace(display_name="Dr Sophie Bernard"),
        stay=SimpleNamespace(
            unit=SimpleNamespace(name="Cardiologie"),
            patient=SimpleNamespace(display_name="Camille Martin", birth_date=datetime.date(1984, 3, 12)),
        ),
        get_type_code_display=lambda: "Lettre de liaison",
        type_code="11490-0",
        version=1,
        body=body,
        signed_at=datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC),
    )
    return {"text_bytes": len(body.encode()), "pdf_bytes": len(render_report_pdf(report))}


def password_hash() -> dict:
    started = time.process_time()
    make_password("synthetic-password-0123")
    return {"cpu_seconds": round(time.process_time() - started, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", type=int, default=20_000, help="traces inserted of each shape")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    for label, shape in SHAPES.items():
        figure = measure.measured(lambda shape=shape: trace_bytes(shape, args.traces))
        print(f"{label}: {figure['bytes_per_trace']} bytes with indexes and TOAST ({measure.load_text(figure)})")
    figure = measure.measured(sealing)
    print(
        f"sealing {figure['sealed']} traces: {figure['traces_per_second']}/s, "
        f"{figure['seal_bytes_per_trace']} bytes of seal per trace ({measure.load_text(figure)})"
    )
    figure = measure.measured(letter_pdf)
    print(f"one-page letter ({figure['text_bytes']} bytes of text): PDF of {figure['pdf_bytes']} bytes")
    figure = measure.measured(password_hash)
    print(f"one password hash: {figure['cpu_seconds']} s of CPU ({measure.load_text(figure)})")
    print(f"run {measure.RUN}")


if __name__ == "__main__":
    main()
