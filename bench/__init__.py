"""Benchmarks of CHU Portal (issue 9 runner: `python -m bench`; audit trail: audit_bench.py), never part of the test run."""
