"""Celery tasks of record requests: make the copy (`make_bundle`), and the beat `sweep` that releases and expires.

The work itself is in record_requests/services/bundle.py; `release` is re-exported here for the callers that think of
it as a step of the answer. In the embedded mode (CELERY_TASK_ALWAYS_EAGER, no broker, no beat) `make_bundle` runs
in-process, its attempts back to back, and a copy made before the end of the 48 hours is released by the sweep,
which the embedded mode runs in-process at most once per RECORD_REQUEST_SWEEP_INTERVAL_SECONDS (`sweep_if_embedded`).
"""

from __future__ import annotations

import logging
import random
import threading
import time

from celery import shared_task
from django.conf import settings
from django.db import transaction

from .services import bundle
from .services.bundle import release

__all__ = ["enqueue", "enqueue_on_commit", "make_bundle", "release", "sweep", "sweep_if_embedded"]

logger = logging.getLogger(__name__)

# Attempts at making a copy before it is marked failed (the office is told); waits between them double from this.
MAX_ATTEMPTS = 4
BACKOFF_SECONDS = 30


def backoff(retries: int) -> int:
    """Seconds before the next attempt: 30, 60, 120... with up to 20 % jitter."""
    base = BACKOFF_SECONDS * 2**retries
    return int(base + random.uniform(0, base / 5))  # noqa: S311 - jitter, not a secret


def enqueue(request_pk: int) -> None:
    """Send one `make_bundle` message; a broker outage is logged (the sweep sends it again an hour later)."""
    try:
        make_bundle.apply_async(args=[request_pk], retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the request stays validated, the sweep resends
        logger.warning("record request %s: could not send make_bundle (%s); the sweep will resend it", request_pk, exc)


def enqueue_on_commit(request_pk: int) -> None:
    """Make the copy once the validation commits (nothing is made for a rolled-back validation)."""
    transaction.on_commit(lambda: enqueue(request_pk))


@shared_task(
    bind=True,
    name="record_requests.tasks.make_bundle",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_ATTEMPTS - 1,
)
def make_bundle(self, request_pk: int) -> None:
    """Make the copy of a validated request, then release it if the 48 hours are over; retried with backoff, and
    after the last attempt marked failed (`failed_at`) and the office told."""
    if self.request.is_eager:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                bundle.bundle_make(request_pk)
                return
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then recorded
                logger.warning("record request %s: attempt %s at the copy failed (%r)", request_pk, attempt, exc)
                if attempt == MAX_ATTEMPTS:
                    bundle.bundle_failed(request_pk, exc)
        return
    try:
        bundle.bundle_make(request_pk)
    except Exception as exc:  # noqa: BLE001 - any failure is retried, then recorded
        if self.request.retries >= MAX_ATTEMPTS - 1:
            bundle.bundle_failed(request_pk, exc)
            return
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(name="record_requests.tasks.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """Celery beat: release the copies past their 48 hours, expire those past `expires_at`, resend lost ones."""
    return run_sweep()


def run_sweep(*, now=None) -> dict[str, int]:
    released = bundle.release_due(now=now)
    expired = bundle.expire_due(now=now)
    stalled = bundle.stalled(now=now)
    for request_pk in stalled:
        enqueue(request_pk)
    return {"released": released, "expired": expired, "resent": len(stalled)}


_last_embedded_sweep: float | None = None
_embedded_lock = threading.Lock()


def sweep_if_embedded(**_kwargs) -> None:
    """Embedded mode (no REDIS_URL, tasks in-process) has no beat: run the sweep in-process, at most once per
    RECORD_REQUEST_SWEEP_INTERVAL_SECONDS (connected to `request_started` in apps.py)."""
    global _last_embedded_sweep
    if settings.REDIS_URL or not settings.CELERY_TASK_ALWAYS_EAGER:
        return  # a broker, hence a beat (the test suite too: its pages never sweep behind a test's back)
    interval = settings.CELERY_BEAT_SCHEDULE["record-requests-sweep"]["schedule"]
    last = _last_embedded_sweep
    if (last is not None and time.monotonic() - last < interval) or not _embedded_lock.acquire(blocking=False):
        return
    try:
        _last_embedded_sweep = time.monotonic()
        run_sweep()
    except Exception:  # noqa: BLE001 - a failed sweep must not fail the page that triggered it
        logger.exception("record requests: the in-process sweep failed")
    finally:
        _embedded_lock.release()
