"""An outcome, once stored, is the job's (vfer_jobs.broker, worker.tasks), on the test Redis."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from celery.result import AsyncResult

from service.celery_client import create_celery
from service.gateway_settings import Settings
from tests.service.helpers import Publications, wait_until
from vfer.errors import JobCancelledError
from vfer_jobs.contract import PREDICT_TASK, PROGRESS, succeeded
from vfer_jobs.settings import load_settings
from worker.celery_app import create_worker_app
from worker.tasks import job_deadline
from worker.worker_settings import WorkerSettings


def test_a_progress_report_racing_the_finish_never_replaces_the_outcome(
    broker_url: str, publications: Publications
) -> None:
    """A second delivery of a job reports progress while the first one stores the outcome (the
    CI run that sent a finished job again twice and published two outcomes): the outcome stays,
    published once. Before, Celery's read-then-write let a report land just after the outcome
    and replace it: 7 and 15 of the 30 jobs in two runs."""
    settings = Settings(broker_url=broker_url)
    reporter, finisher = create_celery(settings), create_celery(settings)  # two processes' backends
    jobs = [f"race-{uuid.uuid4().hex}" for _ in range(30)]
    for job_id in jobs:
        stop = threading.Event()

        def report(job_id: str = job_id, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                reporter.backend.store_result(job_id, {"done_s": 1.0, "duration_s": 2.0}, PROGRESS)

        thread = threading.Thread(target=report)
        thread.start()
        time.sleep(0.02)
        finisher.backend.store_result(job_id, succeeded({"faces": []}), "SUCCESS")
        time.sleep(0.02)
        stop.set()
        thread.join()
    replaced = [job_id for job_id in jobs if AsyncResult(job_id, app=finisher).state != "SUCCESS"]
    assert not replaced, f"{len(replaced)} of {len(jobs)} outcomes replaced by a progress report"
    wait_until(lambda: all(publications.successes(job_id) >= 1 for job_id in jobs), 10, "every outcome published")
    assert all(publications.successes(job_id) == 1 for job_id in jobs)


def test_a_second_outcome_is_neither_stored_nor_published(broker_url: str, publications: Publications) -> None:
    """Two finishers of one job (a redelivery): the first outcome is the job's, heard once."""
    settings = Settings(broker_url=broker_url)
    app = create_celery(settings)
    job_id = f"twice-{uuid.uuid4().hex}"
    app.backend.store_result(job_id, succeeded({"first": True}), "SUCCESS")
    app.backend.store_result(job_id, succeeded({"first": False}), "SUCCESS")
    app.backend.store_result(job_id, None, "STARTED")
    assert AsyncResult(job_id, app=app).result == succeeded({"first": True})
    wait_until(lambda: publications.successes(job_id) >= 1, 10, "the outcome published")
    time.sleep(0.5)
    assert publications.successes(job_id) == 1
    assert 0 < app.backend.client.ttl(app.backend.get_key_for_task(job_id)) <= settings.result_ttl_s


def test_a_second_delivery_stops_once_the_outcome_is_stored(broker_url: str) -> None:
    """A job delivered twice (its first worker seemed lost, or the visibility timeout passed while
    it waited for room) runs on in the second worker only until the first stores the outcome."""
    app = create_worker_app(load_settings(WorkerSettings, broker_url=broker_url))
    task = app.tasks[PREDICT_TASK]
    job_id = f"twice-{uuid.uuid4().hex}"
    deadline = job_deadline(task, job_id)
    deadline.check()  # running: nothing stored yet
    app.backend.store_result(job_id, succeeded({"faces": []}), "SUCCESS")
    time.sleep(1.1)  # the deadline asks the backend at most once a second
    with pytest.raises(JobCancelledError):
        deadline.check()


def test_a_sent_task_leaves_no_result_subscription_behind(broker_url: str) -> None:
    """Celery subscribed the sender to every task's result channel, which nothing in vfer reads:
    a gateway held one subscription per job it ever queued."""
    app = create_celery(Settings(broker_url=broker_url))
    queue = f"nobody-consumes-{uuid.uuid4().hex[:8]}"
    app.send_task(PREDICT_TASK, args=["x", {}], task_id=f"sent-{uuid.uuid4().hex}", queue=queue)
    try:
        consumer = app.backend.result_consumer
        assert consumer._pubsub is None and not consumer.subscribed_to
    finally:
        app.backend.client.delete(queue)
