"""Take screenshots of the main pages at phone (360 px) and desktop (1280 px) widths into docs/screenshots/.

Run: .venv/bin/python scripts/screenshots.py   (needs /usr/bin/chromium; not part of the test run)
It seeds a throw-away SQLite database with the demo cast and serves it on a free local port.
"""

import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# (file name, user or None, path)
SHOTS = [
    ("login", None, "/accounts/login/"),
    ("two-records", None, "/deux-dossiers/"),
    ("patient-dmp", "camille.martin", "/dmp/"),
    ("patient-history", "camille.martin", "/dmp/historique-des-acces/"),
    ("patient-gp", "camille.martin", "/dmp/medecin-traitant/?q=garnier"),
    ("doctor-designations", "dr.moreau", "/dmp/pro/designations/"),
    ("clinician-patients", "dr.bernard", "/patients/"),
    ("clinician-record", "dr.bernard", "record"),
    ("gp-dashboard", "dr.moreau", "/dmp/pro/nouveaux-documents/"),
    ("dpo-console", "dpo.mercier", "/controle/"),
    ("patient-authorise", "camille.martin", "/dmp/autorisations/nouvelle/?q=garnier"),
    ("feed-dashboard", "admin", "/flux-dmp/"),
]


def totp_now() -> str:
    from django_otp.oath import totp

    return f"{totp(base64.b32decode('JBSWY3DPEHPK3PXP')):06d}"


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="chu-shots-"))
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{workdir}/db.sqlite3",
        "MEDIA_ROOT": str(workdir / "media"),
    }
    env.pop("REDIS_URL", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        time.sleep(3)
        record_path = subprocess.run(
            [
                python,
                "-c",
                "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','chu_portal.settings');django.setup();"
                "from records.models import Patient;print(Patient.objects.get(ipp='8000000001').public_id)",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for width, suffix in ((360, "phone"), (1280, "desktop")):
                for user in dict.fromkeys(u for _, u, _ in SHOTS):
                    context = browser.new_context(viewport={"width": width, "height": 800}, locale="fr-FR")
                    page = context.new_page()
                    if user:
                        page.goto(f"{base}/accounts/login/")
                        page.fill("#id_username", user)
                        page.fill("#id_password", "demo-chu-2026")
                        page.get_by_role("button", name="Se connecter").click()
                        if "/accounts/2fa/verify/" in page.url:
                            page.fill("#id_code", totp_now())
                            page.get_by_role("button", name="Valider").click()
                    for name, who, path in SHOTS:
                        if who != user:
                            continue
                        target = f"/patients/{record_path}/dossier/" if path == "record" else path
                        page.goto(f"{base}{target}")
                        page.screenshot(path=str(OUT / f"{name}-{suffix}.png"), full_page=False)
                        print(f"docs/screenshots/{name}-{suffix}.png")
                    context.close()
            browser.close()
    finally:
        server.terminate()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chu_portal.settings")
    sys.exit(main())
