"""A live stream's windows go before uploaded videos that wait, with real Redis, a real worker and
the real gRPC server: a camera cannot wait for a queue of uploads (its stream would stall)."""

from __future__ import annotations

import uuid
from pathlib import Path

import redis
from celery.result import AsyncResult
from fastapi.testclient import TestClient

from service.app import create_app
from service.celery_client import create_celery
from service.gateway_settings import Settings
from tests.media import VIDEO
from tests.service.helpers import FirstWindowWatch, GrpcServer, Worker, service_env, wait_until, waiting

CLIP = VIDEO / "single_face.mp4"
UPLOADS = 4


def test_a_live_window_is_served_before_the_uploads_waiting_ahead_of_it(broker_url: str, tmp_path: Path) -> None:
    """Before: one first-in-first-out list, so the stream's first window waited for all four."""
    queue = f"priority-{uuid.uuid4().hex[:8]}"
    settings = Settings(broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=queue, stream_stall_s=300)
    celery = create_celery(settings)
    worker: Worker | None = None
    server: GrpcServer | None = None
    try:
        with TestClient(create_app(settings)) as client:  # no worker yet: everything waits in Redis
            uploads = [client.post("/predict?wait=0", content=CLIP.read_bytes()).json() for _ in range(UPLOADS)]
            server = GrpcServer(settings)
            watch = FirstWindowWatch(
                server.target, CLIP, lambda: [AsyncResult(job["job_id"], app=celery).state for job in uploads]
            )
            broker = redis.Redis.from_url(broker_url)
            wait_until(lambda: waiting(broker, queue) == UPLOADS + 1, 60, "the stream's first window to wait too")
            worker = Worker(service_env(broker_url, settings.blob_dir, VFER_QUEUE=queue), tmp_path / "worker.log")
            states = watch.result()
            assert states.count("SUCCESS") == 0, "the live window waited for uploads queued before it"
            for job in uploads:  # and the uploads are served after it, none lost
                wait_until(lambda job=job: client.get(job["status_url"]).json()["status"] == "done", 120, "uploads")
    finally:
        if server is not None:
            server.stop()
        if worker is not None:
            worker.stop()
