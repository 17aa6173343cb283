"""Which delivery runs a job (worker.deliveries.running_lease), on the test Redis."""

from __future__ import annotations

import time
import uuid

from vfer_jobs.contract import running_lease_key
from vfer_jobs.settings import load_settings
from worker.celery_app import create_worker_app
from worker.deliveries import running_lease
from worker.worker_settings import WorkerSettings


def test_the_lease_outlives_its_ttl_while_held_and_goes_with_its_holder(broker_url: str) -> None:
    app = create_worker_app(load_settings(WorkerSettings, broker_url=broker_url))
    job_id = f"lease-{uuid.uuid4().hex}"
    visibility_s = 2.0  # a 1 s lease, renewed every third of it
    with running_lease(app, job_id, visibility_s) as first:
        assert first
        time.sleep(2.5)  # past the lease's time to live, and the visibility timeout
        with running_lease(app, job_id, visibility_s) as copy:
            assert not copy, "a copy delivered while the job runs steps aside"
        assert app.backend.client.exists(running_lease_key(job_id)), "a copy never releases the holder's lease"
    assert not app.backend.client.exists(running_lease_key(job_id)), "released when the job ends"
    with running_lease(app, job_id, visibility_s) as next_delivery:
        assert next_delivery, "a delivery after the end runs (and finds the job ended)"


def test_a_lease_left_by_a_dead_worker_is_waited_out(broker_url: str) -> None:
    """A prefork worker whose child dies gives its job back at once, before the dead child's lease
    has lapsed: that delivery waits the lease out and runs the job, rather than step aside."""
    app = create_worker_app(load_settings(WorkerSettings, broker_url=broker_url))
    job_id = f"dead-{uuid.uuid4().hex}"
    app.backend.client.set(running_lease_key(job_id), "a killed worker's token", px=800)  # not renewed
    started = time.monotonic()
    with running_lease(app, job_id, 2.0) as taken:
        assert taken, "the delivery after the worker's death runs the job"
        assert 0.7 < time.monotonic() - started < 1.5
