"""The result backend both ends use: Celery's Redis one, with an outcome that stays stored.

Celery's backend reads a job's state and then writes the new one, skipping the write when the
state read is SUCCESS (every outcome is stored as SUCCESS, errors included). Between the read
and the write, another process can store the outcome: a progress report, a STARTED mark or the
reaper's QUEUED from a second delivery of the job then replaces it, the job looks unfinished,
and it is run and finished again (two outcomes published). Here the read and the write are one
Lua script on the server, so nothing replaces an outcome and it is published once.
"""

from __future__ import annotations

from typing import Any

from celery.backends.redis import RedisBackend, SentinelBackend

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
