"""The gateway's Celery app: it only sends tasks by name and reads their results."""

from __future__ import annotations

from celery import Celery

from vfer.jobs.queue import celery_config
from vfer.jobs.results import backend_spec
from vfer.jobs.settings import JobSettings


def create_celery(settings: JobSettings) -> Celery:
    app = Celery("vfer", broker=settings.broker, backend=backend_spec(settings.backend_url), set_as_current=False)
    app.conf.update(celery_config(settings))
    return app
