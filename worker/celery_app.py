"""The workers' Celery application: the contract's configuration, with the task code registered."""

from __future__ import annotations

from celery import Celery

from vfer.jobs.queue import celery_config
from worker.settings import WorkerSettings

# A worker rides out a Redis blip (a restart, a failover): each result-backend operation (the
# outcome, progress, a cancel check) is retried on connection errors, backing off to 10 s, for
# about two minutes; the gateway keeps failing fast (503) instead.
WORKER_BACKEND_RETRIES = {
    "result_backend_always_retry": True,
    "result_backend_max_retries": 15,
    "result_backend_max_sleep_between_retries_ms": 10_000,
}


def create_worker_app(settings: WorkerSettings, app: Celery | None = None) -> Celery:
    """A worker app, or `app` (the embedded gateway's) with the tasks registered on it."""
    if app is None:
        app = Celery("vfer", broker=settings.broker, backend=settings.backend_url, set_as_current=False)
        app.conf.update(celery_config(settings), **WORKER_BACKEND_RETRIES)
    app.vfer_settings = settings  # read by the tasks (see worker.tasks.settings_of)
    from worker.tasks import register

    register(app)
    return app
