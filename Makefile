# The README's two commands, and a few helpers.
.PHONY: run test lint bench screenshots rules-long

run:  ## embedded mode: SQLite, tasks in-process, demo cast, http://127.0.0.1:8000
	bash scripts/run.sh

test:  ## ruff, pending migrations, bandit and the whole pytest suite against PostgreSQL and Redis
	bash scripts/test.sh

screenshots:  ## phone and desktop screenshots of the main pages into docs/screenshots/
	bash scripts/venv.sh requirements-dev.txt && .venv/bin/python scripts/screenshots.py

lint:  ## the static checks of make test, no service needed: ruff, ruff format, pending migrations, bandit, architecture
	bash scripts/venv.sh requirements-dev.txt && .venv/bin/ruff check . && .venv/bin/ruff format --check . \
	  && DEBUG=true DATABASE_URL=sqlite://:memory: .venv/bin/python manage.py makemigrations --check --dry-run \
	  && .venv/bin/bandit -q -r accounts audit chu_portal demo dmp records fhir -x '*/migrations/*' -ll \
	  && .venv/bin/python -m pytest -q tests/test_architecture.py

bench:  ## the performance benchmark (docs/benchmarks.md): installs requirements-bench.txt, and wrk and pgbench if missing; ARGS="--duration 60" etc.
	bash scripts/bench.sh $(ARGS)

rules-long:  ## the rules machine (tests/rules/) with many more examples and steps: a night run, outside CI
	bash scripts/venv.sh requirements-dev.txt && RULES_LONG=1 bash scripts/test.sh tests/rules/test_rules_machine.py
