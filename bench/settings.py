"""Settings of the benchmark runner's own gunicorn (bench/__main__.py): the portal's, with the bench-only URLconf.

`ROOT_URLCONF = "bench.naive"` routes the portal's URLs plus the naive reference view of issue 23
(bench/naive.py); the portal's own settings and URLconf never route it. Never used in production.
"""

from chu_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.naive"
