"""How often a job has been handed to a worker, and which delivery runs it.

A job that kills its worker every time (a decoder crash, the OOM killer) would otherwise be
redelivered forever, since Celery requeues the unacknowledged job of a dead worker with no cap;
deliveries are counted in the result backend's Redis, per job and per retry (a retry after a
transient fault is a new message, not a redelivery).

Celery's Redis transport also requeues the job of a live worker once it has run past the
visibility timeout: a second worker would run it again, and a third, each counted as a crash. The
delivery that runs a job holds a lease (`running_lease`) renewed while it runs and lapsing soon
after its worker's death, so a delivery that meets a live lease is a copy and steps aside; if the
lease's worker then dies, the gateway's reaper finds the job's message gone and sends it again.
The embedded mode's in-memory backend has no crashes and no copies.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import redis
from celery import Celery

from vfer.errors import VferError
from vfer_jobs.broker import KOMBU_ERRORS, backend_redis
from vfer_jobs.contract import running_lease_key

MAX_DELIVERIES = 3
_KEY = "vfer-deliveries-{job_id}-{attempt}"
# A running job's lease lives half a visibility timeout, at most this long (renewed every third of
# it): a worker that dies leaves its job to the next delivery, or to the reaper, within it.
LEASE_MAX_S = 10.0
# Renew the lease only while this delivery holds it; release it likewise (never another's).
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
# What Redis raises while it is away (restarting, failing over); not OSErrors, so never retried.
BROKER_BLIPS: tuple[type[Exception], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# What kombu raises (a pooled broker connection, a publish) once its own few retries are spent.
KOMBU_BLIPS = (*BROKER_BLIPS, *KOMBU_ERRORS)
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


def take_token(client: redis.Redis, key: str, token: str, ttl_ms: int) -> bool:
    """Set `key` to `token` unless it is set; True also where it already holds `token`: taken by
    this very caller on a try whose answer a failover lost."""
    if client.set(key, token, nx=True, px=ttl_ms):
        return True
    return bool(client.get(key) == token.encode())


def count_delivery(app: Celery, job_id: str, attempt: int, ttl_s: int) -> int:
    """This delivery's number (1 for the first); 1 where the backend cannot count."""
    client = backend_redis(app)
    if client is None:
        return 1
    key = _KEY.format(job_id=job_id, attempt=attempt)

    def count() -> int:
        with client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, ttl_s)
            number, _ = pipe.execute()
        return int(number)

    return ride_out(count)


@contextlib.contextmanager
def running_lease(app: Celery, job_id: str, visibility_timeout_s: float) -> Iterator[bool]:
    """True while this delivery holds the job's lease, renewed by a thread. A lease held by
    another delivery is waited on for one lease's time: a dead worker's lapses in it (its job,
    given back at once when a prefork child dies, runs here), a live worker's is renewed, and then
    False: this delivery is the transport's copy of a running job. Always True without Redis."""
    client = backend_redis(app)
    if client is None:
        yield True
        return
    key, token = running_lease_key(job_id), uuid.uuid4().hex
    ttl_s = min(LEASE_MAX_S, max(1.0, visibility_timeout_s / 2))
    ttl_ms = int(ttl_s * 1000)

    def take() -> bool:
        return ride_out(lambda: take_token(client, key, token, ttl_ms))

    gives_up = time.monotonic() + ttl_s * 1.2
    taken = take()
    while not taken and time.monotonic() < gives_up:
        time.sleep(ttl_s / 10)
        taken = take()
    if not taken:
        yield False
        return
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl_s / 3):
            with contextlib.suppress(*BROKER_BLIPS):  # a blip skips one renewal of three in a lease
                client.eval(_RENEW, 1, key, token, ttl_ms)

    renewer = threading.Thread(target=renew, name=f"lease-{job_id}", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        stop.set()
        renewer.join()
        with contextlib.suppress(*BROKER_BLIPS):  # unreleased, it lapses by itself
            client.eval(_RELEASE, 1, key, token)


class WorkerCrashedError(VferError):
    code = "worker_crashed"
