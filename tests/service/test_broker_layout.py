"""The Redis layout the broker adapter (`vfer_jobs.broker`) reads, checked against the real
transport and result backend of the pinned Celery and kombu: a release that moves a list, renames
the unacked hash or changes how a message or a result is stored fails here, not silently in the
reaper, the backpressure or the KEDA scalers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from vfer_jobs.broker import (
    backend_redis,
    backend_spec,
    held_messages,
    inference_backlog,
    queue_lists,
    result_key_prefix,
)
from vfer_jobs.contract import LIVE_PRIORITY, VIDEO_PRIORITY


@pytest.fixture
def app(broker_url: str) -> Iterator[Celery]:
    app = Celery(broker=broker_url, backend=backend_spec(broker_url))
    yield app
    app.close()


def test_a_priority_step_is_a_list_of_its_own_named_as_the_adapter_says(app: Celery, broker_url: str) -> None:
    queue = f"layout-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(broker_url)
    try:
        app.send_task("vfer.nothing", queue=queue, priority=LIVE_PRIORITY)
        app.send_task("vfer.nothing", queue=queue, priority=VIDEO_PRIORITY)
        app.send_task("vfer.nothing", queue=queue, priority=VIDEO_PRIORITY)
        with app.connection_for_write() as conn:
            lists = queue_lists(conn.default_channel, queue)
        assert lists[0] == queue and lists[1] == f"{queue}\x06\x163"  # what the KEDA scalers name
        assert [client.llen(key) for key in lists[:2]] == [1, 2]
        assert sum(client.llen(key) for key in lists) == 3
    finally:
        client.delete(*[queue, f"{queue}\x06\x163"])


def test_a_taken_message_is_in_the_unacked_hash_as_the_adapter_reads_it(app: Celery, broker_url: str) -> None:
    queue, job_id = f"layout-{uuid.uuid4().hex}", uuid.uuid4().hex
    app.send_task("vfer.nothing", queue=queue, task_id=job_id, args=["argument"])
    with app.connection_for_write() as conn:
        channel = conn.channel()
        try:
            assert channel.basic_get(queue, no_ack=False) is not None
            entries = list(redis.Redis.from_url(broker_url).hvals(channel.unacked_key))
            mine = [json.loads(entry) for entry in entries if job_id.encode() in entry]
            assert len(mine) == 1 and mine[0][2] == queue  # [message, exchange, routing key]
            held = held_messages(app, (queue,))
            assert job_id in held.own_unacked and job_id.encode() in held.messages
            assert inference_backlog(app, queue) == 1  # taken, routed to this queue
        finally:
            channel.close()  # gives the message back


def test_a_result_is_stored_and_published_under_the_prefix_the_adapter_says(app: Celery) -> None:
    client = backend_redis(app)
    assert client is not None
    job_id = uuid.uuid4().hex
    channel = f"{result_key_prefix(app)}{job_id}"
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=1) is None  # the subscription, confirmed
    app.backend.store_result(job_id, {"ok": True}, "SUCCESS")
    heard = [json.loads(m["data"]) for m in [pubsub.get_message(timeout=5)] if m]
    pubsub.close()
    stored = json.loads(client.get(channel) or b"{}")
    assert stored["status"] == "SUCCESS" and stored["task_id"] == job_id
    assert heard and heard[0]["task_id"] == job_id
    app.backend.store_result(job_id, {"ok": False}, "STARTED")  # an outcome stays stored
    assert json.loads(client.get(channel) or b"{}")["status"] == "SUCCESS"
