"""A split job's windows in the result backend's Redis, between its faces worker and the
inference workers (README, Scaling).

Per job: `...-window-N` holds window N's crops (bytes, never in a message) until it is
classified; `...-probs` maps N to its probabilities and `...-ms` to its share of its batch's model
time; `...-job` holds when the job started, what the faces worker found (the layout, once it is
done), how many windows there are and the model that classified them. Every write is idempotent,
so a redelivered message or a re-run faces task writes the same values again, and so does a write
tried again while Redis fails over (every operation rides it out, as the result backend's writes
do). Keys expire after
the result TTL, so a job abandoned halfway leaves nothing behind for long.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import redis
from celery import Celery

from vfer.errors import ResourceError
from vfer_jobs.broker import backend_redis
from worker.deliveries import ride_out, take_token

_PREFIX = "vfer-split-"
FINISH_CLAIM_S = 60  # a finisher that dies leaves the job to the next message after this


@dataclass
class JobState:
    started: float
    layout: dict[str, Any] | None  # None until the faces worker is done
    total: int | None
    model: dict[str, Any] | None  # vfer.inference.ModelInfo as a dict
    model_ms: float
    probabilities: dict[int, list[float]]

    @property
    def complete(self) -> bool:
        return self.total is not None and len(self.probabilities) >= self.total


P = ParamSpec("P")
R = TypeVar("R")


def _riding_out(method: Callable[Concatenate[WindowStore, P], R]) -> Callable[Concatenate[WindowStore, P], R]:
    """The operation tried again while Redis is away (a restart, a Sentinel failover)."""

    @functools.wraps(method)
    def call(self: WindowStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return ride_out(lambda: method(self, *args, **kwargs))

    return call


class WindowStore:
    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self.client, self.ttl_s = client, ttl_s

    @classmethod
    def of(cls, app: Celery) -> WindowStore:
        """The store in the app's result backend (a Redis one: the split topology needs a broker)."""
        client = backend_redis(app)
        if client is None:
            raise ResourceError("the split topology keeps windows in the result backend's Redis; it has none")
        return cls(client, int(app.conf.result_expires))

    @staticmethod
    def _job(job_id: str) -> str:
        return f"{_PREFIX}{job_id}-job"

    @staticmethod
    def _probs(job_id: str) -> str:
        return f"{_PREFIX}{job_id}-probs"

    @staticmethod
    def _ms(job_id: str) -> str:
        return f"{_PREFIX}{job_id}-ms"

    @staticmethod
    def _window(job_id: str, number: int) -> str:
        return f"{_PREFIX}{job_id}-window-{number}"

    @_riding_out
    def begin(self, job_id: str) -> None:
        """A faces task starts (again, after a redelivery: the first start stays)."""
        with self.client.pipeline() as pipe:
            pipe.hsetnx(self._job(job_id), "started", time.time())
            pipe.expire(self._job(job_id), self.ttl_s)
            pipe.execute()

    @_riding_out
    def put_window(self, job_id: str, number: int, data: bytes) -> None:
        self.client.set(self._window(job_id, number), data, ex=self.ttl_s)

    @_riding_out
    def describe(self, job_id: str, layout: Mapping[str, Any], total: int) -> None:
        """What the faces worker found, once it is done: every window has been queued."""
        with self.client.pipeline() as pipe:
            pipe.hset(self._job(job_id), mapping={"layout": json.dumps(layout), "total": total})
            pipe.expire(self._job(job_id), self.ttl_s)
            pipe.execute()

    @_riding_out
    def windows(self, keys: Sequence[tuple[str, int]]) -> list[bytes | None]:
        """The crops of each (job, window); None where they are gone."""
        if not keys:
            return []
        found = self.client.mget([self._window(job, number) for job, number in keys])
        return [data if isinstance(data, bytes) else None for data in found]

    @_riding_out
    def active(self, job_id: str) -> bool:
        """Whether the job is still going: not finished, failed, cancelled or expired."""
        return bool(self.client.exists(self._job(job_id)))

    @_riding_out
    def classified(self, job_id: str, number: int) -> bool:
        return bool(self.client.hexists(self._probs(job_id), str(number)))

    @_riding_out
    def record(
        self, job_id: str, probabilities: Mapping[int, list[float]], model: Mapping[str, str], window_ms: float
    ) -> None:
        """Windows' probabilities and model time each (none: the model alone, for a job without
        windows); then their crops go (a redelivery finds them classified). Set per window, never
        added, so a write tried again, or a batch classified again, counts its time once."""
        with self.client.pipeline() as pipe:
            if probabilities:
                pipe.hset(self._probs(job_id), mapping={str(n): json.dumps(p) for n, p in probabilities.items()})
                pipe.hset(self._ms(job_id), mapping=dict.fromkeys(map(str, probabilities), window_ms))
                pipe.expire(self._probs(job_id), self.ttl_s)
                pipe.expire(self._ms(job_id), self.ttl_s)
            pipe.hset(self._job(job_id), "model", json.dumps(dict(model)))
            pipe.execute()
        if probabilities:
            self.client.delete(*(self._window(job_id, n) for n in probabilities))

    @_riding_out
    def state(self, job_id: str) -> JobState | None:
        """The job as stored, or None when it is gone."""
        with self.client.pipeline() as pipe:
            pipe.hgetall(self._job(job_id))
            pipe.hgetall(self._probs(job_id))
            pipe.hvals(self._ms(job_id))
            fields, probs, window_ms = pipe.execute()
        if not fields:
            return None
        text = {k.decode(): v.decode() for k, v in fields.items()}
        return JobState(
            started=float(text.get("started", time.time())),
            layout=json.loads(text["layout"]) if "layout" in text else None,
            total=int(text["total"]) if "total" in text else None,
            model=json.loads(text["model"]) if "model" in text else None,
            model_ms=sum(map(float, window_ms)),
            probabilities={int(k): json.loads(v) for k, v in probs.items()},
        )

    def claim(self, job_id: str) -> bool:
        """The right to finish the job: one caller gets it (again after FINISH_CLAIM_S, if it died)."""
        return self._claim(job_id, uuid.uuid4().hex)

    @_riding_out
    def _claim(self, job_id: str, token: str) -> bool:
        return take_token(self.client, f"{_PREFIX}{job_id}-finishing", token, FINISH_CLAIM_S * 1000)

    @_riding_out
    def drop(self, job_id: str, windows: int = 0) -> None:
        """Everything of the job but its finish claim (which expires): it finished, failed or was
        cancelled. Crops of windows not yet classified go too: `windows` queued, or its total."""
        total = self.client.hget(self._job(job_id), "total")
        count = max(windows, int(total) if total is not None else 0)
        keys = [self._job(job_id), self._probs(job_id), self._ms(job_id)]
        keys += [self._window(job_id, n) for n in range(count)]
        self.client.delete(*keys)
