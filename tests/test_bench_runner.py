"""The benchmark runner on a fresh clone: what bench/ imports is what `make bench` installs; load beside figures; same-run ratios."""

import ast
import importlib.metadata
import re
import sys
import time
from pathlib import Path

import pytest

from bench import measure

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {p.name for p in ROOT.iterdir() if p.is_dir()} | {"bench"}


def pinned(requirements: str) -> set[str]:
    """Distributions pinned by a requirements file and the files it includes (-r), lower-case, '-' for '_'."""
    names: set[str] = set()
    for line in (ROOT / requirements).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            names |= pinned(line[3:].strip())
        elif "==" in line:
            names.add(re.split(r"[\[=]", line)[0].lower().replace("_", "-"))
    return names


def third_party_imports() -> set[str]:
    modules = set()
    for path in (ROOT / "bench").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in PROJECT and m != "__future__"}


def test_make_bench_installs_every_package_the_runner_imports():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nbench:")[1].split("\n\n")[0]
    assert "scripts/bench.sh" in recipe
    assert "scripts/venv.sh requirements-bench.txt" in (ROOT / "scripts/bench.sh").read_text()
    installed = pinned("requirements-bench.txt")
    distributions = importlib.metadata.packages_distributions()
    imported = third_party_imports()
    assert "aiohttp" in imported  # the mixed scenario's client (bench/load.py)
    for module in imported:
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        assert names & installed, f"bench imports {module}, which requirements-bench.txt does not install"
    # The test requirements include the benchmark's: one pin per package, in one place.
    assert installed <= pinned("requirements-dev.txt")


def test_a_figure_carries_its_run_and_the_load_before_and_during_it():
    figure = measure.measured(lambda: (time.sleep(1.2), {"rps": 10.0})[1])
    assert figure["rps"] == 10.0 and figure["run"] == measure.RUN
    load = figure["load"]
    assert len(load["before"]) == 3 and load["samples"] >= 3  # before, every second, after
    assert 0 <= load["during_mean"] <= load["during_max"]
    assert "load before" in measure.load_text(figure)
    assert measure.measured(lambda: 3)["value"] == 3


def test_a_ratio_is_refused_unless_both_sides_were_measured_in_the_same_run():
    audited, bare = measure.measured(lambda: {"rps": 50.0}), measure.measured(lambda: {"rps": 200.0})
    assert measure.ratio(audited, bare, "rps") == 0.25
    from_another_run = {**bare, "run": "0123456789ab"}
    with pytest.raises(measure.NotSameRun):
        measure.ratio(audited, from_another_run, "rps")
    with pytest.raises(measure.NotSameRun):
        measure.ratio(audited, {"rps": 200.0}, "rps")  # a figure typed in by hand: no run at all
    assert measure.load_text({"rps": 1}) == "load: not recorded"


def test_the_runner_reports_a_refused_ratio_instead_of_a_figure(capsys):
    from bench.__main__ import ratio_or_refusal, shown

    value = ratio_or_refusal({"rps": 1.0, "run": "a"}, {"rps": 2.0, "run": "b"}, "rps")
    assert value is None and "refused" in capsys.readouterr().out
    assert shown(value).startswith("refused")


def test_the_seed_inserts_name_every_column_the_database_requires():
    """bench/seed.py writes rows in bulk SQL: a NOT NULL column added to a model without a database default
    must be named there too, or the runner breaks minutes into the run (as it did on a fresh clone)."""
    from django.apps import apps
    from django.db.models import NOT_PROVIDED

    source = (ROOT / "bench/seed.py").read_text()
    inserts = re.findall(r"INSERT INTO (\w+) \(([^)]*)\)", source)
    assert len(inserts) >= 6
    tables = {model._meta.db_table: model for model in apps.get_models()}
    for table, columns in inserts:
        named = {c.strip() for c in columns.split(",")}
        required = {
            f.column
            for f in tables[table]._meta.concrete_fields
            if not f.null and not f.primary_key and f.db_default is NOT_PROVIDED
        }
        assert required <= named, f"bench/seed.py inserts into {table} without {sorted(required - named)}"


def test_every_name_the_benchmarks_import_exists():
    """Imports inside the benchmarks' functions run only minutes into a run: a module moved since must fail here."""
    import importlib.util

    for path in (ROOT / "bench").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if alias.name == "*":  # bench/settings.py takes the portal's settings whole
                        continue
                    found = hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}")
                    assert found, f"{path.name}: from {node.module} import {alias.name}"
