"""Rewrite the "Operations" index of docs/api.md from the generated OpenAPI schema (tests/api/test_api_docs.py
checks the two agree). Run: DATABASE_URL=sqlite://:memory: .venv/bin/python scripts/api_operations.py"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "api.md"
START = "| method | path | tag | statuses |\n|---|---|---|---|\n"


def rows(schema: dict) -> list[str]:
    return [
        f"| `{method.upper()}` | `{path}` | {operation.get('tags', [''])[0]} | {', '.join(sorted(operation['responses']))} |"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def main() -> None:
    env = {**os.environ, "DEBUG": "true"}
    out = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--format", "openapi-json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    ).stdout
    text = DOC.read_text()
    table = START + "\n".join(rows(json.loads(out))) + "\n"
    DOC.write_text(re.sub(re.escape(START) + r"(?:\|.*\n)*", lambda _m: table, text, count=1))


if __name__ == "__main__":
    main()
