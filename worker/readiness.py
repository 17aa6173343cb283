"""Whether a worker's pool children can run jobs: a child that cannot load what jobs need (a
missing or broken model file) says so in the result backend's Redis, for a while, under its node
and queue (`vfer_jobs.contract.worker_failing_key`); the gateway's /readyz and /metrics list it and
the worker's probe fails. Without this the worker answered pings and looked idle."""

from __future__ import annotations

import contextlib
import logging

from celery import Celery

from vfer_jobs.broker import backend_redis
from vfer_jobs.contract import worker_failing_key
from worker.deliveries import BROKER_BLIPS

FAILING_TTL_S = 300  # a failure is news this long unless a child starts well meanwhile
log = logging.getLogger("vfer.worker")


def child_failed(app: Celery, queue: str, node: str, error: BaseException) -> None:
    log.error("a pool child could not load what jobs need: %s", error)
    client = backend_redis(app)
    if client is not None:
        with contextlib.suppress(*BROKER_BLIPS):
            client.set(worker_failing_key(queue, node), f"{type(error).__name__}: {error}", ex=FAILING_TTL_S)


def child_ready(app: Celery, queue: str, node: str) -> None:
    client = backend_redis(app)
    if client is not None:
        with contextlib.suppress(*BROKER_BLIPS):
            client.delete(worker_failing_key(queue, node))


def failing(app: Celery, queue: str, node: str) -> str | None:
    """Why this node's children cannot run jobs, or None."""
    client = backend_redis(app)
    value = None if client is None else client.get(worker_failing_key(queue, node))
    return value.decode() if isinstance(value, bytes) else value
