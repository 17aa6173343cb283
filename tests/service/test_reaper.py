"""Lost job messages (Celery's Redis transport pops a message, then records it as unacknowledged:
a worker killed between the two loses it) are found by the gateway's reaper and sent again, with
real Redis and real workers; the message is removed from Redis as that loss would remove it."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import redis
from fastapi.testclient import TestClient

from service.app import create_app
from service.gateway_settings import Settings
from service.reaper import CONFIRM_S, SEND_LIMIT
from tests.media import VIDEO
from tests.service.helpers import (
    Publications,
    Worker,
    gateway_metric,
    lose_waiting,
    service_env,
    wait_until,
    waiting,
)
from tests.service.test_split import Split

CLIP = VIDEO / "single_face.mp4"


def _settings(broker_url: str, folder: Path, queue: str) -> Settings:
    return Settings(
        broker_url=broker_url, blob_dir=folder / "blobs", queue=queue, reaper_check_s=1, task_time_limit_s=20
    )


def _status(client: TestClient, job: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = client.get(job["status_url"]).json()
    return body


def test_a_lost_message_is_sent_again_and_its_job_ends_once(
    broker_url: str, tmp_path: Path, publications: Publications, data: Path
) -> None:
    """Before: the job stayed `queued` until its result expired (an hour)."""
    queue = f"reap-{uuid.uuid4().hex[:8]}"
    settings = _settings(broker_url, tmp_path, queue)
    broker = redis.Redis.from_url(broker_url)
    worker: Worker | None = None
    try:
        with TestClient(create_app(settings)) as client:  # no worker yet: the job waits in the queue
            job = client.post("/predict?wait=0", content=CLIP.read_bytes()).json()
            time.sleep(3 * CONFIRM_S)  # many looks at a waiting job
            assert waiting(broker, queue) == 1, "a message the broker holds is never sent twice"
            assert gateway_metric(client, "vfer_jobs_sent_again_total") == 0
            lose_waiting(broker, queue)  # the message is lost
            worker = Worker(service_env(broker_url, settings.blob_dir, VFER_QUEUE=queue), tmp_path / "worker.log")
            wait_until(lambda: _status(client, job)["status"] == "done", 90, "the job sent again to finish")
            assert gateway_metric(client, "vfer_jobs_sent_again_total") == 1
            assert len(_status(client, job)["result"]["faces"]) == 1
        time.sleep(1.0)  # a second outcome would be published by now
        assert publications.successes(job["job_id"]) == 1
    finally:
        if worker is not None:
            worker.stop()


def test_a_job_lost_at_every_send_ends_job_lost(broker_url: str, tmp_path: Path) -> None:
    queue = f"reap-{uuid.uuid4().hex[:8]}"
    settings = _settings(broker_url, tmp_path, queue)
    broker = redis.Redis.from_url(broker_url)
    losing = threading.Event()

    def lose_every_message() -> None:
        while not losing.wait(0.2):
            lose_waiting(broker, queue)

    loser = threading.Thread(target=lose_every_message, daemon=True)
    with TestClient(create_app(settings)) as client:
        job = client.post("/predict?wait=0", content=CLIP.read_bytes()).json()
        loser.start()
        try:
            wait_until(lambda: _status(client, job)["status"] == "failed", 60, "the job to end")
        finally:
            losing.set()
            loser.join()
        body = _status(client, job)
        assert body["error"]["code"] == "job_lost" and "submit the video again" in body["error"]["message"]
        assert gateway_metric(client, "vfer_jobs_sent_again_total") == SEND_LIMIT - 1
        assert gateway_metric(client, "vfer_jobs_lost_total") == 1
        assert not (settings.blob_dir / job["job_id"]).exists(), "its upload is deleted"
        again = client.get(job["status_url"])
        assert again.json()["status"] == "failed", "the end is final"


def test_a_lost_window_message_sends_its_split_job_again(
    broker_url: str, tmp_path: Path, publications: Publications, data: Path
) -> None:
    """Split topology: the faces worker has queued every window and the job's end, and those
    messages are lost before an inference worker takes them; the job is sent again whole (its
    upload is kept until the job ends) and finishes once."""
    split = Split(broker_url, tmp_path)
    settings = split.settings.model_copy(update={"reaper_check_s": 1})
    faces = split.worker("jobs", "faces.log")
    inference: Worker | None = None
    try:
        split.wait_for_workers(1)
        with TestClient(create_app(settings)) as client:
            job = client.post("/predict?wait=0", content=CLIP.read_bytes()).json()

            def all_queued() -> bool:
                total = split.redis.hget(f"vfer-split-{job['job_id']}-job", "total")
                return total is not None and waiting(split.redis, split.inference_queue) == int(total) + 1

            wait_until(all_queued, 60, "the faces worker to queue every window")
            lose_waiting(split.redis, split.inference_queue)  # the windows' messages are lost
            inference = split.worker("inference", "inference.log")
            wait_until(lambda: _status(client, job)["status"] == "done", 120, "the job sent again to finish")
            assert gateway_metric(client, "vfer_jobs_sent_again_total") == 1
            assert len(_status(client, job)["result"]["faces"]) == 1
        time.sleep(1.0)
        assert publications.successes(job["job_id"]) == 1
    finally:
        faces.stop()
        if inference is not None:
            inference.stop()


def test_a_job_whose_whole_worker_died_is_sent_again_before_the_visibility_timeout(
    broker_url: str, tmp_path: Path, publications: Publications
) -> None:
    """A worker SIGKILLed whole mid-job leaves its job's message unacknowledged in Redis, which
    gives it back only after VFER_VISIBILITY_TIMEOUT_S (900 s): the job stayed `running` with
    frozen progress. Its running lease lapses within 30 s; the reaper then sends it again, a
    second worker finishes it within 90 s of the kill, and its outcome is stored once."""
    from benchmarks.clips import make_long_clip

    queue = f"reap-{uuid.uuid4().hex[:8]}"
    settings = _settings(broker_url, tmp_path, queue).model_copy(update={"task_time_limit_s": 120})
    clip = make_long_clip(CLIP, 40.0, tmp_path / "long.mp4").read_bytes()
    env = service_env(broker_url, settings.blob_dir, VFER_QUEUE=queue, VFER_TASK_TIME_LIMIT_S="120")
    first = Worker(env, tmp_path / "first.log")
    second: Worker | None = None
    try:
        with TestClient(create_app(settings)) as client:
            job = client.post("/predict?wait=0", content=clip).json()
            wait_until(lambda: _status(client, job)["status"] == "running", 120, "the job to run")
            first.kill()  # the whole worker, mid-job
            killed = time.monotonic()
            second = Worker(env, tmp_path / "second.log")
            wait_until(lambda: _status(client, job)["status"] == "done", 120, "the job to finish on the second worker")
            assert time.monotonic() - killed < 90
            assert gateway_metric(client, "vfer_jobs_sent_again_total") == 1
        time.sleep(1.0)
        assert publications.successes(job["job_id"]) == 1
    finally:
        first.kill()
        if second is not None:
            second.stop()
