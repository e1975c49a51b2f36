"""Real processes for the feed's reliability tests: a private redis-server and Celery workers on the test database.

Nothing here touches the machine's shared Redis on 6379: each test gets its own redis-server on a
free port (no persistence), and workers that consume a dedicated queue on it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from chu_portal.celery import app as celery_app

REPO = Path(__file__).resolve().parents[2]
QUEUE = "feed_reliability"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class PrivateRedis:
    """A redis-server of our own, stopped and restarted at will on the same port."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, message="redis-server")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


class Worker:
    """`celery worker` in its own process group, on the test database and the private Redis."""

    def __init__(self, env: dict, log: Path, concurrency: int = 2):
        self.env, self.log, self.concurrency = env, log, concurrency
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        marker = f"ready-{self.starts}"
        self._log_file = open(self.log, "a")  # noqa: SIM115 - closed in stop()
        self._log_file.write(f"--- {marker}\n")
        self._log_file.flush()
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "chu_portal",
                "worker",
                "-Q",
                QUEUE,
                "-c",
                str(self.concurrency),
                "-P",
                "prefork",
                "-n",
                f"feedtest{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            cwd=REPO,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the pool children too
        )
        wait_until(
            lambda: self.log.read_text().split(f"--- {marker}")[-1].count(" ready.") >= 1,
            timeout=30,
            message="the celery worker",
        )

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash or an OOM kill would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
        self._log_file.close()

    stop = kill


def database_url(db: dict) -> str:
    """The URL of the database this test process uses (pytest-django's test_<name>), for the workers."""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _reset_producer_pools() -> None:
    """The test process publishes to the private Redis: drop pooled connections to another broker."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def feed_env(transactional_db, private_redis, settings, tmp_path):
    """The test process and its workers share the test database, the private broker and the media folder."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = private_redis.url
    settings.DMP_FEED_QUEUE = QUEUE
    settings.DMP_FEED_SWEEP_GRACE_SECONDS = 1
    settings.DMP_FEED_RETRY_BACKOFF_SECONDS = 1
    settings.DMP_FEED_RETRY_BACKOFF_MAX_SECONDS = 2
    settings.MEDIA_ROOT = tmp_path / "media"
    _reset_producer_pools()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chu_portal.settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": private_redis.url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DMP_FEED_QUEUE": QUEUE,
        "DMP_FEED_RETRY_BACKOFF_SECONDS": "1",
        "DMP_FEED_RETRY_BACKOFF_MAX_SECONDS": "2",
        "DMP_FEED_SWEEP_GRACE_SECONDS": "1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DEBUG": "true",
        "CELERY_SKIP_CHECKS": "1",
    }
    yield env
    _reset_producer_pools()


@pytest.fixture
def worker(feed_env, tmp_path):
    process = Worker(feed_env, tmp_path / "worker.log")
    process.start()
    yield process
    process.kill()
