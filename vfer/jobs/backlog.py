"""What kombu's Redis transport holds for a queue, read the same way by the gateway and the workers.

The transport keeps a queue's waiting messages in one Redis list per priority step and every
message a worker has taken but not acknowledged in one `unacked` hash (both named on the channel).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery


def queue_lists(channel: Any, queue: str) -> list[str]:
    """The Redis keys of `queue`'s lists, one per priority step (the transport's naming)."""
    return [f"{queue}{channel.sep}{step}" if step else queue for step in channel.priority_steps]


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
            pipe.hvals(channel.unacked_key)
            *waiting, taken = pipe.execute()
    return sum(int(count) for count in waiting) + sum(_routed_to(entry) == queue for entry in taken)


def _routed_to(entry: bytes) -> str:
    """The routing key of one `unacked` entry, which the transport stores as JSON
    `[message, exchange, routing_key]`; a queue's messages are routed by its name."""
    _message, _exchange, routing_key = json.loads(entry)
    return str(routing_key)
