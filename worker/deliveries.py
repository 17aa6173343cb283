"""How often a job has been handed to a worker: a job that kills its worker every time (a
decoder crash, the OOM killer) would otherwise be redelivered forever, since Celery requeues
the unacknowledged job of a dead worker with no cap.

Counted in the result backend's Redis, per job and per retry (a retry after a transient fault is
a new message, not a redelivery); the embedded mode's in-memory backend has no crashes to count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import kombu.exceptions
import redis
from celery import Celery

from vfer.errors import VferError

MAX_DELIVERIES = 3
_KEY = "vfer-deliveries-{job_id}-{attempt}"
# What Redis raises while it is away (restarting, failing over); not OSErrors, so never retried.
BROKER_BLIPS: tuple[type[Exception], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# What kombu raises (a pooled broker connection, a publish) once its own few retries are spent.
KOMBU_BLIPS = (*BROKER_BLIPS, kombu.exceptions.OperationalError)
RIDE_OUT_S = 120.0  # as long as the result backend's own retries (worker.celery_app)
T = TypeVar("T")


def ride_out(
    call: Callable[[], T], limit_s: float = RIDE_OUT_S, errors: tuple[type[Exception], ...] = BROKER_BLIPS
) -> T:
    """`call`, tried again while Redis is away (backing off to 10 s) for up to `limit_s`: a job
    that starts while the primary fails over waits for the new one instead of failing."""
    ends, pause = time.monotonic() + limit_s, 0.5
    while True:
        try:
            return call()
        except errors:
            if time.monotonic() + pause > ends:
                raise
            time.sleep(pause)
            pause = min(10.0, pause * 2)


def count_delivery(app: Celery, job_id: str, attempt: int, ttl_s: int) -> int:
    """This delivery's number (1 for the first); 1 where the backend cannot count."""
    client = getattr(app.backend, "client", None)
    if client is None or not hasattr(client, "pipeline"):  # the embedded in-memory cache has none
        return 1
    key = _KEY.format(job_id=job_id, attempt=attempt)

    def count() -> int:
        with client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, ttl_s)
            number, _ = pipe.execute()
        return int(number)

    return ride_out(count)


class WorkerCrashedError(VferError):
    code = "worker_crashed"
