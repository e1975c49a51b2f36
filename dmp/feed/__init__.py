"""The CHU's automatic feed of signed reports into the DMP: outbox, delivery, Celery tasks, dashboard."""
