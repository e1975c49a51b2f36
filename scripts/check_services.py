"""Stop the test run with a clear message when PostgreSQL or Redis is not reachable."""

import os
import sys
from urllib.parse import urlparse

missing = []

db = urlparse(os.environ["DATABASE_URL"])
try:
    import psycopg

    psycopg.connect(
        host=db.hostname,
        port=db.port or 5432,
        user=db.username or "postgres",
        password=db.password,
        dbname="postgres",
        connect_timeout=3,
    ).close()
except Exception as exc:  # noqa: BLE001
    missing.append(f"PostgreSQL at {db.hostname}:{db.port or 5432} ({exc.__class__.__name__}: {str(exc).strip()})")

try:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
except Exception as exc:  # noqa: BLE001
    r = urlparse(os.environ["REDIS_URL"])
    missing.append(f"Redis at {r.hostname}:{r.port or 6379} ({exc.__class__.__name__}: {exc})")

if missing:
    print("The test suite needs these services, which are not reachable:", file=sys.stderr)
    for item in missing:
        print(f"  - {item}", file=sys.stderr)
    print(
        "Start them (see README, 'Running the tests') or point TEST_DATABASE_URL / TEST_REDIS_URL elsewhere.",
        file=sys.stderr,
    )
    sys.exit(2)
