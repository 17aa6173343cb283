"""Being told that a job's result changed, instead of polling the result backend for it.

- `RedisNotifier`: Celery's Redis result backend publishes every stored state on the channel
  named by the result's key; the gateway subscribes to the jobs it waits for, over one
  connection shared by all of them.
- `LocalNotifier` (embedded mode): the worker is a thread of this process; Celery's
  `task_postrun` signal fires once the result is stored.

A waiter still re-reads the state now and then (`SAFETY_POLL_S`), so a lost message or a broken
subscription delays an answer but never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol
from urllib.parse import urlsplit

from celery import Celery, signals

from vfer_jobs.broker import result_key_prefix

log = logging.getLogger("vfer.service")
SAFETY_POLL_S = 1.0


class Notifier(Protocol):
    def watch(self, job_id: str) -> contextlib.AbstractAsyncContextManager[asyncio.Event]:
        """An event set whenever the job's stored state changes, while the context is open."""

    async def close(self) -> None: ...


class _Waiters:
    """Events of the jobs being waited for, set from the event loop's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.events: dict[str, set[asyncio.Event]] = {}

    def add(self, job_id: str) -> tuple[asyncio.Event, bool]:
        event = asyncio.Event()
        first = job_id not in self.events
        self.events.setdefault(job_id, set()).add(event)
        return event, first

    def remove(self, job_id: str, event: asyncio.Event) -> bool:
        """True when nobody waits for the job any more."""
        events = self.events.get(job_id, set())
        events.discard(event)
        if events:
            return False
        self.events.pop(job_id, None)
        return True

    def set(self, job_id: str) -> None:
        for event in self.events.get(job_id, ()):
            event.set()


class LocalNotifier:
    def __init__(self) -> None:
        self._waiters = _Waiters()
        signals.task_postrun.connect(self._on_postrun, weak=False)

    def _on_postrun(self, task_id: str | None = None, **_: Any) -> None:  # in the worker's thread
        if task_id is not None:
            self._waiters.loop.call_soon_threadsafe(self._waiters.set, task_id)

    @contextlib.asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[asyncio.Event]:
        event, _ = self._waiters.add(job_id)
        try:
            yield event
        finally:
            self._waiters.remove(job_id, event)

    async def close(self) -> None:
        signals.task_postrun.disconnect(self._on_postrun)


def _async_client(url: str, sentinel_master: str | None) -> Any:
    """A Redis client of the result backend; through Sentinel, one that follows the primary (its
    pub/sub subscriptions are renewed on the new primary when a failover breaks the connection)."""
    import redis.asyncio
    from redis.asyncio.sentinel import Sentinel

    if not url.startswith("sentinel://"):
        return redis.asyncio.Redis.from_url(url, socket_connect_timeout=2.0)
    parts = [urlsplit(part) for part in url.split(";")]
    hosts = [(part.hostname or "localhost", part.port or 26379) for part in parts]
    db = int(parts[0].path.strip("/") or 0)
    sentinel = Sentinel(hosts, socket_connect_timeout=2.0)
    return sentinel.master_for(sentinel_master or "", db=db, password=parts[0].password, socket_connect_timeout=2.0)


class RedisNotifier:
    def __init__(self, app: Celery, url: str, sentinel_master: str | None = None) -> None:
        self._prefix = result_key_prefix(app)
        self._client = _async_client(url, sentinel_master)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._waiters = _Waiters()
        self._listener = asyncio.create_task(self._listen())

    def _channel(self, job_id: str) -> str:
        return f"{self._prefix}{job_id}"

    async def _listen(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker went away: waiters fall back to polling
                log.debug("result notifications interrupted: %s", exc)
                await asyncio.sleep(1.0)
                continue
            if message and message.get("type") == "message":
                channel = message["channel"]
                channel = channel.decode() if isinstance(channel, bytes) else channel
                self._waiters.set(channel.removeprefix(self._prefix))

    @contextlib.asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[asyncio.Event]:
        event, first = self._waiters.add(job_id)
        try:
            if first:
                with contextlib.suppress(Exception):  # no subscription: the safety poll answers
                    await self._pubsub.subscribe(self._channel(job_id))
            yield event
        finally:
            if self._waiters.remove(job_id, event):
                with contextlib.suppress(Exception):
                    await self._pubsub.unsubscribe(self._channel(job_id))

    async def close(self) -> None:
        self._listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._listener
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            await self._client.aclose()


def create_notifier(app: Celery, backend_url: str, embedded: bool, sentinel_master: str | None = None) -> Notifier:
    """Must be called on the event loop that will wait."""
    if embedded:
        return LocalNotifier()
    return RedisNotifier(app, backend_url, sentinel_master)
