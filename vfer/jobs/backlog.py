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
