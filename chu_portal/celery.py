"""The Celery application; tasks run eagerly in-process when no REDIS_URL is set."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chu_portal.settings")

app = Celery("chu_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The DMP's tasks live in its feed and consent sub-packages (dmp/feed/tasks.py, dmp/consent/tasks.py).
app.autodiscover_tasks(["dmp.feed", "dmp.consent"])
