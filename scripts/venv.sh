#!/usr/bin/env bash
# Create .venv if needed and install a requirements file, skipping pip when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtual environment in .venv ..."
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$req")"
# Every requirements file: one may include another (-r), and a change there must reinstall too.
digest="$(cat requirements*.txt "$req" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "Installing $req ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$digest" > "$stamp"
fi
