#!/usr/bin/env bash
# The README's run command: embedded mode (SQLite, tasks in-process), demo cast, http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements.txt
# Development mode: DEBUG defaults to off (production), so the one-command embedded start sets it.
export DEBUG=true
.venv/bin/python manage.py compile_translations >/dev/null
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo
BIND="${PORT_BIND:-127.0.0.1:8000}"
echo "CHU Portal: http://${BIND}  (demo accounts in README.md, password demo-chu-2026; Ctrl+C stops it)"
exec .venv/bin/python manage.py runserver "$BIND"
