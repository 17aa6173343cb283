"""Cancelling a running job, and pool children that die or cannot start: a worker comes back, and
says so when it cannot (real Redis, real prefork workers, real clips)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from benchmarks.clips import make_long_clip
from service.app import create_app
from service.gateway_settings import Settings
from tests.media import VIDEO
from tests.service.helpers import Worker, gateway_metric, pool_children, service_env, wait_until
from vfer.models.catalogue import WEIGHTS_DIR

SINGLE = VIDEO / "single_face.mp4"
NO_FACE_FIRST = VIDEO / "noface_face.mov"


@pytest.fixture
def prefork(broker_url: str, tmp_path: Path) -> tuple[Settings, Worker]:
    queue = f"cancel-{uuid.uuid4().hex[:8]}"
    settings = Settings(broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=queue, cancel_grace_s=10)
    worker = Worker(
        service_env(broker_url, settings.blob_dir, VFER_QUEUE=queue), tmp_path / "worker.log", pool="prefork"
    )
    yield settings, worker
    worker.stop()


def test_cancelled_running_jobs_leave_their_pool_child_alive_and_the_next_job_quick(
    prefork: tuple[Settings, Worker],
) -> None:
    """DELETE of a running job SIGKILLed its pool child; the new child, loading its models past
    Celery's 4-s start limit, was killed again and again: the next upload waited 60 s (202).
    Now the job stops at its next frame on its cancel flag and the child lives on."""
    settings, worker = prefork
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: client.get("/readyz").json()["workers"], 90, "the worker")
        (child,) = pool_children(worker)
        for _ in range(3):
            job = client.post("/predict?wait=0&mode=paper", content=NO_FACE_FIRST.read_bytes()).json()
            wait_until(
                lambda job=job: client.get(job["status_url"]).json()["status"] == "running", 60, "the job to run"
            )
            assert client.delete(job["status_url"]).json()["status"] == "cancelled"
        started = time.monotonic()
        answer = client.post("/predict?wait=60", content=SINGLE.read_bytes())
        assert answer.status_code == 200, answer.text
        assert time.monotonic() - started < 30
        assert pool_children(worker) == [child], "a healthy child is never killed to cancel its job"


def test_a_killed_pool_child_comes_back_and_runs_its_job_within_30_s(
    prefork: tuple[Settings, Worker], tmp_path: Path
) -> None:
    """The OOM killer takes a child mid-job: its replacement loads its models (past Celery's 4-s
    limit, which killed five replacements in a row: 38.5 s) and runs the job again, once the dead
    child's running lease has lapsed (worker.deliveries), not left for the reaper to find lost."""
    settings, worker = prefork
    clip = make_long_clip(SINGLE, 12.0, tmp_path / "long.mp4").read_bytes()
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: client.get("/readyz").json()["workers"], 90, "the worker")
        job = client.post("/predict?wait=0", content=clip).json()
        wait_until(lambda: client.get(job["status_url"]).json()["status"] == "running", 60, "the job to run")
        (child,) = pool_children(worker)
        os.kill(child, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: client.get(job["status_url"]).json()["status"] == "done", 60, "the job to run again")
        assert time.monotonic() - killed < 30
        assert len(client.get(job["status_url"]).json()["result"]["faces"]) == 1
        assert gateway_metric(client, "vfer_jobs_sent_again_total") == 0, "left for the reaper to find lost"


def test_a_worker_whose_children_cannot_load_the_model_says_so(broker_url: str, tmp_path: Path) -> None:
    """A broken model file: the worker answered pings and looked idle, /readyz said `workers: true`.
    Now /readyz names the node and why, /metrics counts it, and the worker's probe fails."""
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    broken.with_suffix(".json").write_text((WEIGHTS_DIR / "c3d_convlstm.json").read_text())
    queue = f"broken-{uuid.uuid4().hex[:8]}"
    env = service_env(broker_url, tmp_path / "blobs", VFER_QUEUE=queue, VFER_MODEL=str(broken))
    worker = Worker(env, tmp_path / "worker.log", pool="prefork", name="vfer@%h")
    settings = Settings(broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=queue)
    try:
        with TestClient(create_app(settings)) as client:
            wait_until(lambda: bool(client.get("/readyz").json()["workers_failing"]), 90, "the failure to be told")
            readiness = client.get("/readyz").json()
            ((node, why),) = readiness["workers_failing"].items()
            assert (node.startswith("vfer@") and "broken" in why) or "checkpoint" in why or "pickle" in why.lower(), why
            assert readiness["workers"] is False
            assert gateway_metric(client, "vfer_workers_failing") == 1
        probe = subprocess.run(
            [sys.executable, "-m", "worker.probe"], env=env, capture_output=True, text=True, timeout=60
        )
        assert probe.returncode == 1 and "cannot run jobs" in probe.stderr, probe.stderr
    finally:
        worker.stop()
