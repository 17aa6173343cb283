"""Backpressure, a worker killed mid-job, and the broker going away and coming back."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from benchmarks.clips import make_long_clip
from service.app import create_app
from service.celery_client import create_celery
from service.gateway_settings import Settings
from tests.media import VIDEO
from tests.service.helpers import (
    CLAIM_KEY,
    REDIS_HOST,
    RedisServer,
    Worker,
    service_env,
    wait_until,
)

SINGLE = VIDEO / "single_face.mp4"


def test_this_run_holds_a_database_no_other_run_takes(redis_port: int, test_db: int) -> None:
    """Two suites side by side (another checkout's, CI's) flushed each other's database 13."""
    ours = redis.Redis(host=REDIS_HOST, port=redis_port, db=test_db)
    assert ours.get(CLAIM_KEY) == str(os.getpid()).encode() and ours.ttl(CLAIM_KEY) > 0
    assert not ours.set(CLAIM_KEY, "another run", nx=True), "another run would take this database"


def test_a_full_queue_answers_429_with_retry_after(broker_url: str, tmp_path: Path, data: Path) -> None:
    settings = Settings(
        broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=f"idle-{uuid.uuid4().hex[:8]}", max_queue=2
    )
    with TestClient(create_app(settings)) as client:  # no worker consumes this queue
        ready = client.get("/readyz")  # ready without a worker: jobs wait, workers may scale to zero
        assert ready.status_code == 200 and ready.json()["broker"] is True
        codes = [client.post("/predict?wait=0", content=SINGLE.read_bytes()).status_code for _ in range(3)]
        assert codes == [202, 202, 429]
        response = client.post("/predict?wait=0", content=SINGLE.read_bytes())
        assert response.status_code == 429 and response.headers["Retry-After"]
        assert response.json()["error"]["code"] == "queue_full"
        assert len(list((tmp_path / "blobs").glob("[0-9a-f]*"))) == 2, "refused uploads are not kept"


def test_a_job_survives_its_worker_being_killed(broker_url: str, tmp_path: Path, data: Path) -> None:
    queue = f"kill-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=queue, visibility_timeout_s=4, task_time_limit_s=30
    )
    env = service_env(
        broker_url, settings.blob_dir, VFER_QUEUE=queue, VFER_VISIBILITY_TIMEOUT_S="4", VFER_TASK_TIME_LIMIT_S="30"
    )
    clip = make_long_clip(SINGLE, 12.0, tmp_path / "long.mp4").read_bytes()
    first = Worker(env, tmp_path / "first.log")
    second: Worker | None = None
    try:
        with TestClient(create_app(settings)) as client:
            wait_until(lambda: client.get("/readyz").json()["workers"], 60, "the first worker")
            job = client.post("/predict?wait=0&mode=paper", content=clip).json()
            wait_until(lambda: client.get(job["status_url"]).json()["status"] == "running", 30, "the job to start")
            first.kill()  # SIGKILL, mid-job: nothing acknowledged the message
            assert client.get(job["status_url"]).json()["status"] == "running"
            second = Worker(env, tmp_path / "second.log")
            wait_until(
                lambda: client.get(job["status_url"]).json()["status"] == "done", 90, "another worker to finish the job"
            )
            result = client.get(job["status_url"]).json()["result"]
            assert len(result["faces"]) == 1 and result["video"]["duration_s"] == pytest.approx(12.0, abs=0.1)
    finally:
        first.kill()
        if second is not None:
            second.stop()


def test_a_threads_pool_worker_runs_jobs_side_by_side(broker_url: str, tmp_path: Path, data: Path) -> None:
    """Four 20-s clips at once to `vfer worker --pool threads --concurrency 2`: before, its two
    threads shared one dlib detector and the process aborted (munmap_chunk(): invalid pointer)
    or a job failed inside OpenCV; now each thread has its own face models."""
    queue = f"threads-{uuid.uuid4().hex[:8]}"
    settings = Settings(broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=queue)
    env = service_env(broker_url, settings.blob_dir, VFER_QUEUE=queue)
    clip = make_long_clip(SINGLE, 20.0, tmp_path / "long.mp4").read_bytes()
    worker = Worker(env, tmp_path / "threads.log", pool="threads", concurrency=2)
    try:
        with TestClient(create_app(settings)) as client:
            wait_until(lambda: client.get("/readyz").json()["workers"], 60, "the worker")
            jobs = [client.post("/predict?wait=0", content=clip).json() for _ in range(4)]

            def finished() -> bool:
                assert worker.process.poll() is None, f"the worker died (status {worker.process.returncode})"
                return all(client.get(job["status_url"]).json()["status"] in ("done", "failed") for job in jobs)

            wait_until(finished, 120, "the four jobs")
            bodies = [client.get(job["status_url"]).json() for job in jobs]
        assert [body["status"] for body in bodies] == ["done"] * 4, bodies
        faces = [body["result"]["faces"] for body in bodies]
        assert faces[0] and all(found == faces[0] for found in faces)
    finally:
        worker.stop()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


def test_a_waiting_client_keeps_its_job_id_when_the_broker_goes_away(tmp_path: Path, data: Path) -> None:
    """POST ?wait=60 was accepted, then Redis went down during the wait (`shutdown save`, restarted
    with its data): the 503 had no X-Job-Id, and the caller could not find its job."""
    redis_server = RedisServer(data_dir=tmp_path).start()
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    settings = Settings(broker_url=url, blob_dir=tmp_path / "blobs", queue="nobody-consumes")
    with TestClient(create_app(settings)) as client:
        # The job is queued by then, and no worker takes it.
        stopper = threading.Timer(1.5, lambda: redis_server.stop(save=True))
        stopper.start()
        try:
            response = client.post("/predict", params={"wait": 60}, content=SINGLE.read_bytes())
        finally:
            stopper.join()
        assert response.status_code == 503 and response.headers["Retry-After"], response.text
        job_id = response.headers["X-Job-Id"]
        assert response.json()["job_id"] == job_id and response.headers["Location"] == f"/jobs/{job_id}"
        assert response.json()["error"]["code"] == "broker_unavailable"
        redis_server.start()
        try:
            wait_until(lambda: client.get(f"/jobs/{job_id}").status_code == 200, 30, "the job to be found again")
            assert client.get(f"/jobs/{job_id}").json()["status"] == "queued"
        finally:
            redis_server.stop()


def test_a_redis_blip_does_not_fail_a_running_job(tmp_path: Path, data: Path) -> None:
    """Redis away for 4 s mid-job (`shutdown save`, restarted with its data): the worker's
    once-a-second cancel check raised redis' ConnectionError (not an OSError: never retried) and
    the job failed with internal_error. Now it rides the blip out and ends done."""
    redis_server = RedisServer(data_dir=tmp_path).start()
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    settings = Settings(broker_url=url, blob_dir=tmp_path / "blobs", task_time_limit_s=300)
    worker = Worker(service_env(url, settings.blob_dir, VFER_TASK_TIME_LIMIT_S="300"), tmp_path / "worker.log")
    clip = make_long_clip(SINGLE, 60.0, tmp_path / "long.mp4").read_bytes()
    try:
        with TestClient(create_app(settings)) as client:
            wait_until(lambda: client.get("/readyz").json()["workers"], 60, "the worker")
            job = client.post("/predict?wait=0&mode=paper", content=clip).json()
            wait_until(lambda: client.get(job["status_url"]).json()["status"] == "running", 30, "the job to start")
            redis_server.stop(save=True)
            time.sleep(4)
            redis_server.start()
            wait_until(
                lambda: client.get(job["status_url"]).json()["status"] not in ("queued", "running"), 120, "the job"
            )
            status = client.get(job["status_url"]).json()
            assert status["status"] == "done", status
            assert status["result"]["faces"]
    finally:
        worker.stop()
        redis_server.stop()


def test_broker_down_is_503_then_service_recovers(private_redis: RedisServer, tmp_path: Path, data: Path) -> None:
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    settings = Settings(broker_url=url, blob_dir=tmp_path / "blobs", queue="vfer", default_wait_s=30)
    env = service_env(url, settings.blob_dir)
    worker = Worker(env, tmp_path / "worker.log")
    try:
        with TestClient(create_app(settings)) as client:
            wait_until(lambda: client.get("/readyz").json()["workers"], 60, "the worker")
            private_redis.stop()
            started = time.monotonic()
            response = client.post("/predict", content=SINGLE.read_bytes())
            assert response.status_code == 503 and response.json()["error"]["code"] == "broker_unavailable"
            assert response.headers["Retry-After"]
            assert time.monotonic() - started < 10, "a down broker is reported promptly"
            assert client.get("/readyz").status_code == 503
            assert not list((tmp_path / "blobs").glob("[0-9a-f]*")), "the refused upload is not kept"
            private_redis.start()
            wait_until(lambda: client.get("/readyz").json()["workers"], 60, "the service to recover")
            response = client.post("/predict", content=SINGLE.read_bytes())
            assert response.status_code == 200, response.text
    finally:
        worker.stop()


def test_the_gateway_fails_fast_when_redis_dies_between_its_checks(private_redis: RedisServer, tmp_path: Path) -> None:
    """The admission check passed on a live Redis, which then died before the job's state was
    written: Celery's result backend tried that write 20 times, a second apart, and the upload
    answered 503 after 19 s (seen once in the full suite as `test_broker_down_is_503...`)."""
    settings = Settings(broker_url=f"redis://127.0.0.1:{private_redis.port}/0", blob_dir=tmp_path / "blobs")
    celery = create_celery(settings)
    celery.backend.store_result("a-live-connection", {"submitted_at": 0.0}, "PENDING")
    private_redis.stop()
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        celery.backend.store_result("after-the-check", {"submitted_at": 0.0}, "PENDING")
    assert time.monotonic() - started < 3, "the gateway's writes fail fast"
