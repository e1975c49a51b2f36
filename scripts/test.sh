#!/usr/bin/env bash
# The README's test command: dev requirements, ruff, pending migrations, bandit, then the whole pytest suite
# (architecture checks included) on PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements-dev.txt
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/chu_portal}"
export REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
export DEBUG=true
.venv/bin/python scripts/check_services.py
if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium for the browser tests ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || { echo "Could not install chromium (apt-get install -y chromium): the browser tests need it." >&2; exit 2; }
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Every model change has its migration. The project database itself need not exist (pytest creates its
# own): the warning that its migration history could not be checked is noise here.
.venv/bin/python -W "ignore:Got an error checking a consistent migration history:RuntimeWarning" \
  manage.py makemigrations --check --dry-run
.venv/bin/python manage.py compile_translations >/dev/null
# Static analysis: bandit, severity medium and up, on the application code.
.venv/bin/bandit -q -r accounts audit chu_portal demo dmp records fhir -x '*/migrations/*' -ll
# The slowest tests are listed at the end, to keep each slow layer within its budget (README).
exec .venv/bin/python -m pytest --durations=25 "$@"
