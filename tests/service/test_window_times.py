"""The split topology's model time per job (worker.windows), on the test Redis."""

from __future__ import annotations

import uuid

import redis

from worker.windows import WindowStore

MODEL = {"name": "mini_xception_fer2013", "version": "2.0"}


def test_a_batch_recorded_twice_counts_its_model_time_once(broker_url: str) -> None:
    """A write tried again after its answer was lost (a failover), or a batch classified again
    after a redelivery, wrote the same windows twice: the job's model time doubled (HINCRBYFLOAT)."""
    store = WindowStore(redis.Redis.from_url(broker_url), ttl_s=60)
    job_id = f"times-{uuid.uuid4().hex}"
    store.begin(job_id)
    uniform = [1 / 7] * 7
    store.record(job_id, {0: uniform}, MODEL, 4.0)  # a batch with one of the job's windows: 4 ms each
    store.record(job_id, {0: uniform}, MODEL, 4.0)  # the same again
    store.record(job_id, {1: uniform, 2: uniform}, MODEL, 5.0)  # two windows of a batch: 5 ms each
    state = store.state(job_id)
    assert state is not None and sorted(state.probabilities) == [0, 1, 2]
    assert state.model_ms == 14.0
    store.drop(job_id, windows=3)
    assert store.state(job_id) is None
    assert not store.client.keys(f"vfer-split-{job_id}-*"), "nothing of the job is left"
