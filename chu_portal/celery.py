"""The Celery application; tasks run eagerly in-process when no REDIS_URL is set."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chu_portal.settings")

app = Celery("chu_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The consent issue's periodic clean-up lives beside dmp/tasks.py (the feed's), in its own module.
app.autodiscover_tasks(related_name="consent_tasks")
