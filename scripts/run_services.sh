#!/usr/bin/env bash
# One command for the scaled mode: web server, Celery worker and Celery beat, stopped together (Ctrl-C).
# Needs DATABASE_URL and REDIS_URL (README, "Running with PostgreSQL, Redis and real Celery workers").
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL (PostgreSQL)}"
: "${REDIS_URL:?set REDIS_URL (the Celery broker)}"
BIND="${PORT_BIND:-127.0.0.1:8000}"
pids=()
stop() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait; }
trap stop EXIT INT TERM
.venv/bin/celery -A chu_portal worker --loglevel=info --concurrency="${WORKER_CONCURRENCY:-2}" &
pids+=($!)
.venv/bin/celery -A chu_portal beat --loglevel=info --schedule="${CELERY_BEAT_SCHEDULE_FILE:-/tmp/chu-portal-celerybeat-schedule}" &
pids+=($!)
.venv/bin/gunicorn chu_portal.wsgi -w "${WEB_WORKERS:-2}" -b "$BIND" &
pids+=($!)
wait -n
