"""What kombu's Redis transport holds for a queue, read the same way by the gateway and the workers.

The transport keeps a queue's waiting messages in one Redis list per priority step and every
message a worker has taken but not acknowledged in one `unacked` hash (both named on the channel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery


def queue_lists(channel: Any, queue: str) -> list[str]:
    """The Redis keys of `queue`'s lists, one per priority step (the transport's naming)."""
    return [f"{queue}{channel.sep}{step}" if step else queue for step in channel.priority_steps]


def inference_backlog(app: Celery, queue: str) -> int:
    """Split topology: windows waiting on the inference queue or held by a worker (the `unacked`
    hash holds every queue's, a few jobs' among them). Each holds at most one window's crops in
    Redis, so a bound on this bounds their memory: faces workers pause at it, the gateway refuses."""
    with app.pool.acquire(block=True, timeout=5) as conn:
        channel = conn.default_channel
        with channel.client.pipeline(transaction=False) as pipe:
            for key in queue_lists(channel, queue):
                pipe.llen(key)
            pipe.hlen(channel.unacked_key)
            return sum(int(count) for count in pipe.execute())
