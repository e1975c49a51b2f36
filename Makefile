# The README's two commands, and a few helpers.
.PHONY: run test lint bench

run:  ## embedded mode: SQLite, tasks in-process, demo cast, http://127.0.0.1:8000
	bash scripts/run.sh

test:  ## ruff and the whole pytest suite against PostgreSQL and Redis
	bash scripts/test.sh

lint:
	bash scripts/venv.sh requirements-dev.txt && .venv/bin/ruff check . && .venv/bin/ruff format --check .
