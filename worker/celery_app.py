"""The workers' Celery application: the contract's configuration, with the task code registered."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Celery, signals

from vfer_jobs.broker import backend_spec
from vfer_jobs.celery_config import celery_config
from vfer_jobs.logs import JOB_ID
from worker.worker_settings import WorkerSettings

# A worker rides out a Redis blip (a restart, a failover): each result-backend operation (the
# outcome, progress, a cancel check) is retried on connection errors, backing off to 10 s, for
# about two minutes; the gateway keeps failing fast (503) instead.
WORKER_BACKEND_RETRIES = {
    "result_backend_always_retry": True,
    "result_backend_max_retries": 15,
    "result_backend_max_sleep_between_retries_ms": 10_000,
}


log = logging.getLogger("vfer.worker")
_STARTED: dict[str, tuple[float, Any]] = {}  # task id -> (start time, the context variable's token)


def _job_started(task_id: str, task: Any, **_: object) -> None:
    """Lines logged while a job runs carry its id (the job id is the task id)."""
    _STARTED[task_id] = (time.perf_counter(), JOB_ID.set(task_id))
    log.info("job started: %s", task.name)


def _job_finished(task_id: str, task: Any, state: str | None = None, **_: object) -> None:
    started, token = _STARTED.pop(task_id, (time.perf_counter(), None))
    log.info("job finished: %s %s in %.0f ms", task.name, state, (time.perf_counter() - started) * 1e3)
    if token is not None:
        JOB_ID.reset(token)


def create_worker_app(settings: WorkerSettings, app: Celery | None = None) -> Celery:
    """A worker app, or `app` (the embedded gateway's) with the tasks registered on it."""
    if app is None:
        app = Celery("vfer", broker=settings.broker, backend=backend_spec(settings.backend_url), set_as_current=False)
        app.conf.update(
            celery_config(settings), **WORKER_BACKEND_RETRIES, worker_proc_alive_timeout=settings.child_start_timeout_s
        )
    app.vfer_settings = settings  # read by the tasks (see worker.tasks.settings_of)
    signals.task_prerun.connect(_job_started, weak=False, dispatch_uid="vfer-job-started")
    signals.task_postrun.connect(_job_finished, weak=False, dispatch_uid="vfer-job-finished")
    from worker.tasks import register

    register(app)
    return app
