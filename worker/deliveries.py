"""How often a job has been handed to a worker: a job that kills its worker every time (a
decoder crash, the OOM killer) would otherwise be redelivered forever, since Celery requeues
the unacknowledged job of a dead worker with no cap.

Counted in the result backend's Redis, per job and per retry (a retry after a transient fault is
a new message, not a redelivery); the embedded mode's in-memory backend has no crashes to count.
"""

from __future__ import annotations

from celery import Celery

from vfer.errors import VferError

MAX_DELIVERIES = 3
_KEY = "vfer-deliveries-{job_id}-{attempt}"


def count_delivery(app: Celery, job_id: str, attempt: int, ttl_s: int) -> int:
    """This delivery's number (1 for the first); 1 where the backend cannot count."""
    client = getattr(app.backend, "client", None)
    if client is None or not hasattr(client, "pipeline"):  # the embedded in-memory cache has none
        return 1
    key = _KEY.format(job_id=job_id, attempt=attempt)
    with client.pipeline() as pipe:
        pipe.incr(key)
        pipe.expire(key, ttl_s)
        number, _ = pipe.execute()
    return int(number)


class WorkerCrashedError(VferError):
    code = "worker_crashed"
