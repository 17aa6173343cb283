"""An in-process worker for the embedded default: the same task code on an in-memory broker.

The gateway finds it through the `vfer.embedded_worker` entry point (it never imports this
package), and hands over its Celery app and settings.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery
from celery.backends.cache import CacheBackend
from celery.worker import WorkController

from vfer_jobs.settings import JobSettings, load_settings
from worker.celery_app import create_worker_app
from worker.tasks import warm_up
from worker.worker_settings import WorkerSettings

log = logging.getLogger("vfer.worker")


class SharedMemoryBackend(CacheBackend):  # type: ignore[misc]
    """Results in this process's memory, one store for every thread.

    Celery keeps a backend per thread unless it is marked thread-safe; per-thread memory would
    hide the worker thread's results from the gateway. The LRU cache behind it takes a lock.
    """

    thread_safe = True


class EmbeddedWorker:
    """A solo-pool Celery worker running in a daemon thread of the gateway process."""

    def __init__(self, app: Celery, queue: str) -> None:
        self._app = app
        self._warm = threading.Event()
        # Celery's worker resolves tasks through the process's default app: make it this one.
        app.set_default()
        app.set_current()
        self._controller = WorkController(
            app=app,
            pool_cls="solo",
            concurrency=1,
            queues=[queue],
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            loglevel="WARNING",
        )
        self._thread = threading.Thread(target=self._run, name="vfer-embedded-worker", daemon=True)

    def _run(self) -> None:
        try:
            warm_up(self._app)  # the served model loads before the first job
        except Exception:  # jobs will report it; the worker still answers
            log.exception("the served model could not be loaded")
        self._warm.set()
        self._controller.start()

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Running, with the served model loaded (readiness waits for it)."""
        return self._warm.is_set() and self._thread.is_alive()

    def stop(self) -> None:
        self._controller.stop(in_sighandler=False)
        self._thread.join(timeout=10)


def embedded_worker(app: Celery, settings: JobSettings) -> EmbeddedWorker:
    """Make the gateway's app run the tasks in this process (results in shared memory); the
    worker-only settings come from the environment, the shared ones from the gateway."""
    app.backend_cls = "worker.embedded:SharedMemoryBackend"
    app.conf.cache_backend = "memory"
    shared = {name: getattr(settings, name) for name in JobSettings.model_fields}
    create_worker_app(load_settings(WorkerSettings, **shared), app)
    return EmbeddedWorker(app, settings.queue)
