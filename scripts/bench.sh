#!/usr/bin/env bash
# `make bench`: the benchmark runner's Python packages (requirements-bench.txt), its two tools (wrk, pgbench:
# installed with apt-get when missing, as make test installs chromium), then `python -m bench` with the arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements-bench.txt
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v pgbench >/dev/null || missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} for the benchmark ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || { echo "Could not install ${missing[*]} (apt-get install -y ${missing[*]}): the benchmark needs them." >&2; exit 2; }
fi
exec .venv/bin/python -m bench "$@"
