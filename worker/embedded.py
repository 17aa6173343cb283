"""An in-process worker for the embedded default: the same task code on an in-memory broker."""

from __future__ import annotations

import threading

from celery import Celery
from celery.backends.cache import CacheBackend
from celery.worker import WorkController


class SharedMemoryBackend(CacheBackend):  # type: ignore[misc]
    """Results in this process's memory, one store for every thread.

    Celery keeps a backend per thread unless it is marked thread-safe; per-thread memory would
    hide the worker thread's results from the gateway. The LRU cache behind it takes a lock.
    """

    thread_safe = True


class EmbeddedWorker:
    """A solo-pool Celery worker running in a daemon thread of the gateway process."""

    def __init__(self, app: Celery, queue: str) -> None:
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
        self._thread = threading.Thread(target=self._controller.start, name="vfer-embedded-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._controller.stop(in_sighandler=False)
        self._thread.join(timeout=10)
