"""The workers' Celery application: the contract's configuration, with the task code registered."""

from __future__ import annotations

from celery import Celery

from vfer.jobs.queue import celery_config
from worker.settings import WorkerSettings


def create_worker_app(settings: WorkerSettings, app: Celery | None = None) -> Celery:
    """A worker app, or `app` (the embedded gateway's) with the tasks registered on it."""
    if app is None:
        app = Celery("vfer", broker=settings.broker, backend=settings.backend_url, set_as_current=False)
        app.conf.update(celery_config(settings))
    app.vfer_settings = settings  # read by the tasks (see worker.tasks.settings_of)
    from worker.tasks import register

    register(app)
    return app
