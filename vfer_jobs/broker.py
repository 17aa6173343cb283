"""The one place that reads Celery's and kombu's Redis internals (written for celery 5.6 and
kombu 5.7, pinned in pyproject.toml; `tests/service/test_broker_layout.py` fails, against a real
Redis, when a release moves them):

- kombu's Redis transport keeps a queue's waiting messages in one Redis list per priority step
  (`queue_lists`: the queue's name, then `NAME\x06\x16STEP`), and every message a worker has taken
  but not acknowledged in one `unacked` hash of `[message, exchange, routing_key]` JSON entries
  (`held_messages`, `taken_job`, `inference_backlog`);
- Celery's Redis result backend keeps each job's state under `celery-task-meta-ID` and publishes
  each change on a channel of that name (`result_key_prefix`, `backend_redis`); `RedisResults`
  replaces its read-then-write of an outcome by one Lua script, so nothing replaces an outcome.

The gateway (queue depth, the reaper, the notifier), the workers (leases, backpressure) and the
tests read these through here only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import kombu.exceptions
import redis
from celery.backends.redis import RedisBackend, SentinelBackend

if TYPE_CHECKING:
    from celery import Celery


# --- kombu's transport: lists by priority, the unacked hash ---------------------------------

# What kombu raises once its own few retries of a publish or a pooled connection are spent.
KOMBU_ERRORS: tuple[type[Exception], ...] = (kombu.exceptions.OperationalError,)


def queue_lists(channel: Any, queue: str) -> list[str]:
    """The Redis keys of `queue`'s lists, one per priority step (the transport's naming)."""
    return [f"{queue}{channel.sep}{step}" if step else queue for step in channel.priority_steps]


@dataclass(frozen=True)
class Held:
    messages: bytes  # every message waiting on the queues or unacknowledged, to find job ids in
    own_unacked: set[str]  # jobs whose own message (its task id is the job's id) a worker holds unacknowledged


def taken_job(raw: bytes) -> str | None:
    """The task id of an unacknowledged message as the transport stores it ([message, exchange,
    routing key]); None for anything else."""
    try:
        message = json.loads(raw)[0]
        return str(message["headers"]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def held_messages(app: Celery, queues: tuple[str, ...]) -> Held:
    """Every message waiting on `queues` or held by a worker, read in one transaction, as bytes to
    find job ids in (a job's id is its message's id; a split window's message names its job in
    `argsrepr`), and the jobs whose own message a worker holds unacknowledged."""
    with app.pool.acquire(block=True, timeout=5) as conn:
        channel = conn.default_channel
        with channel.client.pipeline(transaction=True) as pipe:
            for key in (key for queue in queues for key in queue_lists(channel, queue)):
                pipe.lrange(key, 0, -1)
            pipe.hvals(channel.unacked_key)
            *lists, unacked = pipe.execute()
    waiting = [message for reply in lists for message in reply]
    own = {job for job in map(taken_job, unacked) if job is not None}
    return Held(b"\n".join([*waiting, *unacked]), own)


# The unacked hash's entries are JSON `[message, exchange, routing_key]`, a queue's messages routed
# by its name: counted in Redis, so a faces worker's check before each window moves one integer,
# not every held message.
_COUNT_ROUTED = """
local n = 0
for _, entry in ipairs(redis.call('HVALS', KEYS[1])) do
  local ok, held = pcall(cjson.decode, entry)
  if ok and held[3] == ARGV[1] then n = n + 1 end
end
return n
"""


def inference_backlog(app: Celery, queue: str) -> int:
    """Split topology: windows waiting on the inference queue or held by a worker. Each holds at
    most one window's crops in Redis, so a bound on this bounds their memory: faces workers pause
    at it, the gateway refuses. The `unacked` hash holds every queue's taken messages (the jobs a
    faces worker runs among them), so only those routed to `queue` count."""
    with app.pool.acquire(block=True, timeout=5) as conn:
        channel = conn.default_channel
        with channel.client.pipeline(transaction=False) as pipe:
            for key in queue_lists(channel, queue):
                pipe.llen(key)
            pipe.eval(_COUNT_ROUTED, 1, channel.unacked_key, queue)
            return sum(int(count) for count in pipe.execute())


# --- Celery's result backend ------------------------------------------------------------------


def backend_redis(app: Celery) -> redis.Redis | None:
    """The result backend's Redis client; None for the embedded in-memory cache."""
    client = getattr(app.backend, "client", None)
    return client if isinstance(client, redis.Redis) else None


def result_key_prefix(app: Celery) -> str:
    """What the backend's key and pub/sub channel of a job's state start with (then the job's id)."""
    prefix = app.backend.task_keyprefix
    return prefix.decode() if isinstance(prefix, bytes) else str(prefix)


# Celery's backend reads a job's state and then writes the new one, skipping the write when the
# state read is SUCCESS (every outcome is stored as SUCCESS, errors included). Between the read and
# the write another process can store the outcome: a progress report, a STARTED mark or the
# reaper's QUEUED from a second delivery of the job then replaced it, the job looked unfinished and
# ran again (two outcomes published). Here the read and the write are one Lua script on the server.
# KEYS[1]: the job's result key; ARGV: the new meta (JSON), its expiry in seconds (0: none).
_STORE_UNLESS_FINAL = """
local current = redis.call('GET', KEYS[1])
if current then
    local ok, meta = pcall(cjson.decode, current)
    if ok and type(meta) == 'table' and meta['status'] == 'SUCCESS' then
        return 0
    end
end
if tonumber(ARGV[2]) > 0 then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
    redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
"""


class _OutcomeStaysStored:
    """Mixed into Celery's Redis backends: `_store_result` as Celery's, in one atomic step."""

    client: Any
    expires: int | None
    _script: Any = None

    def _store_result(
        self, task_id: str | bytes, result: Any, state: str, traceback: Any = None, request: Any = None, **kwargs: Any
    ) -> Any:
        meta = self._get_result_meta(result=result, state=state, traceback=traceback, request=request)  # type: ignore[attr-defined]
        meta["task_id"] = task_id.decode() if isinstance(task_id, bytes) else task_id
        key, value = self.get_key_for_task(task_id), self.encode(meta)  # type: ignore[attr-defined]
        self.ensure(self._store_unless_final, (key, value))  # type: ignore[attr-defined]
        return result

    def _store_unless_final(self, key: bytes | str, value: str) -> int:
        if self._script is None:
            self._script = self.client.register_script(_STORE_UNLESS_FINAL)
        return int(self._script(keys=[key], args=[value, int(self.expires or 0)]))


class _NothingWaitsOnResults:
    """Mixed into both: nothing in vfer waits on Celery's result consumer (the gateway's own
    pub/sub wakes waiting requests; workers never wait), yet Celery subscribed to every task it
    sent, on a connection nothing read: one subscription per job held for the process's life,
    and a send that met a broken subscriber reconnected it, or failed with a RuntimeError."""

    def on_task_call(self, producer: Any, task_id: str) -> None:
        return None


class RedisResults(_NothingWaitsOnResults, _OutcomeStaysStored, RedisBackend):  # type: ignore[misc]
    pass


class SentinelResults(_NothingWaitsOnResults, _OutcomeStaysStored, SentinelBackend):  # type: ignore[misc]
    pass


def backend_spec(url: str) -> str:
    """What Celery's `backend` takes for a result backend URL: Redis ones get the classes above
    (Celery's "module:Class+URL" form); the embedded in-memory one is Celery's, one process."""
    for scheme, results in (("sentinel://", SentinelResults), ("redis://", RedisResults), ("rediss://", RedisResults)):
        if url.startswith(scheme):
            return f"{results.__module__}:{results.__qualname__}+{url}"
    return url
