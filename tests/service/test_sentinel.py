"""Redis high availability: broker and result backend through Redis Sentinel (a primary, a
replica, three Sentinels), the primary SIGKILLed while a real worker runs a job."""

from __future__ import annotations

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
from tests.service.helpers import REDIS_HOST, SentinelGroup, Worker, service_env, wait_until

SINGLE = VIDEO / "single_face.mp4"


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelGroup]:
    group = SentinelGroup(tmp_path).start()
    yield group
    group.stop()


@pytest.mark.parametrize("topology", ["single", "split"])
def test_a_job_in_flight_finishes_after_the_primary_fails_over(
    sentinels: SentinelGroup, tmp_path: Path, data: Path, topology: str
) -> None:
    """Split: the faces worker is storing windows when the primary dies; the window store rides
    out the failover as the result backend does (before, the job ended `internal_error`)."""
    url = sentinels.url()
    limits = {"visibility_timeout_s": 10, "task_time_limit_s": 60}
    settings = Settings(
        broker_url=url,
        redis_sentinel_master=SentinelGroup.MASTER,
        blob_dir=tmp_path / "blobs",
        topology=topology,
        **limits,
    )
    env = service_env(
        url,
        settings.blob_dir,
        VFER_REDIS_SENTINEL_MASTER=SentinelGroup.MASTER,
        VFER_VISIBILITY_TIMEOUT_S="10",
        VFER_TASK_TIME_LIMIT_S="60",
        VFER_TOPOLOGY=topology,
    )
    clip = make_long_clip(SINGLE, 12.0, tmp_path / "long.mp4").read_bytes()
    roles = ["jobs", "inference"] if topology == "split" else ["jobs"]
    workers = [Worker(env, tmp_path / f"{role}.log", role=role) for role in roles]
    try:
        with TestClient(create_app(settings)) as client:
            celery = create_celery(settings)
            wait_until(lambda: len(celery.control.ping(timeout=1.0)) >= len(workers), 90, "the workers")
            if topology == "split":  # windows of 2 s every 1 s, the first stored when the primary dies
                job = client.post("/predict?wait=0", content=clip).json()
                primary = redis.Redis(host=REDIS_HOST, port=sentinels.primary.port)
                wait_until(lambda: primary.keys("vfer-split-*-window-*"), 30, "the first window stored")
            else:
                job = client.post("/predict?wait=0&mode=paper", content=clip).json()
                wait_until(lambda: client.get(job["status_url"]).json()["status"] == "running", 30, "the job to start")
            old_primary = sentinels.primary.port
            sentinels.primary.kill()
            answers: list[tuple[int, str | None]] = []

            def done() -> bool:
                response = client.get(job["status_url"])
                answers.append((response.status_code, response.headers.get("Retry-After")))
                return response.status_code == 200 and response.json()["status"] in ("done", "failed")

            wait_until(done, 150, "the job to end on the new primary")
            ended = client.get(job["status_url"]).json()
            assert ended["status"] == "done", ended.get("error")
            assert sentinels.primary_port() == sentinels.replica.port != old_primary
            assert {code for code, _ in answers} <= {200, 503}, answers
            assert all(retry for code, retry in answers if code == 503), "a 503 says when to retry"
            result = client.get(job["status_url"]).json()["result"]
            assert len(result["faces"]) == 1
            after = client.post("/predict?wait=60", content=SINGLE.read_bytes())
            assert after.status_code == 200 and len(after.json()["faces"]) == 1, f"not recovered: {after.text[:300]}"
    finally:
        for worker in workers:
            worker.stop()
