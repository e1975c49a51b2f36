# The README's two commands, and a few helpers.
.PHONY: run test lint bench screenshots

run:  ## embedded mode: SQLite, tasks in-process, demo cast, http://127.0.0.1:8000
	bash scripts/run.sh

test:  ## ruff and the whole pytest suite against PostgreSQL and Redis
	bash scripts/test.sh

screenshots:  ## phone and desktop screenshots of the main pages into docs/screenshots/
	bash scripts/venv.sh requirements-dev.txt && .venv/bin/python scripts/screenshots.py

lint:
	bash scripts/venv.sh requirements-dev.txt && .venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:  ## the performance benchmark (docs/benchmarks.md): needs wrk and pgbench; ARGS="--duration 60" etc.
	bash scripts/venv.sh requirements.txt && .venv/bin/python -m bench $(ARGS)
