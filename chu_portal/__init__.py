"""CHU Portal project package: settings, URLs, Celery app; no domain code."""

from .celery import app as celery_app

__all__ = ["celery_app"]
