"""How jobs end when they should not go on: their time limit, DELETE, a worker that keeps dying,
an upload nobody will read, a store that cannot take uploads. Real Redis and worker processes,
a real embedded `vfer serve`, real clips, a real full or read-only file system (a tmpfs)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from benchmarks.clips import make_long_clip
from service.app import create_app
from service.gateway_settings import Settings
from tests.media import VIDEO
from tests.service.helpers import Worker, gateway_metric, service_env, vfer_serve, wait_until
from vfer_jobs.blobs import preview_key

SINGLE = VIDEO / "single_face.mp4"


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """60 s of a real face: 11 to 16 s of work in paper mode (the detector on every frame)."""
    return make_long_clip(SINGLE, 60.0, tmp_path_factory.mktemp("clips") / "long.mp4").read_bytes()


def _blobs(folder: Path) -> list[Path]:
    return [p for p in folder.glob("*") if p.is_file()] if folder.exists() else []


def test_a_job_past_its_time_limit_ends_with_its_own_code(
    broker_url: str, tmp_path: Path, long_clip: bytes, data: Path
) -> None:
    queue = f"limit-{uuid.uuid4().hex[:8]}"
    settings = Settings(broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=queue, default_wait_s=60)
    env = service_env(broker_url, settings.blob_dir, VFER_QUEUE=queue, VFER_TASK_TIME_LIMIT_S="5")
    worker = Worker(env, tmp_path / "worker.log")
    try:
        with TestClient(create_app(settings)) as client:
            wait_until(lambda: client.get("/readyz").json()["workers"], 60, "the worker")
            started = time.monotonic()
            response = client.post("/predict?mode=paper&wait=60", content=long_clip)
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "time_limit_exceeded"
            assert time.monotonic() - started < 20
            assert _blobs(settings.blob_dir) == [], "the upload is deleted"
            assert client.post("/predict", content=SINGLE.read_bytes()).status_code == 200, "the worker lives on"
    finally:
        worker.stop()


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[str]:
    """`vfer serve` with its in-process worker and a 6 s time limit (the long clip takes longer)."""
    env = service_env(None, tmp_path / "blobs", VFER_TASK_TIME_LIMIT_S="6", VFER_LOG_LEVEL="warning")
    with vfer_serve(env, tmp_path / "serve.log") as url:
        yield url


def test_embedded_mode_keeps_the_time_limit_and_delete_stops_the_work(
    embedded: str, long_clip: bytes, data: Path
) -> None:
    with httpx.Client(base_url=embedded, timeout=60) as client:
        started = time.monotonic()
        limited = client.post("/predict?mode=paper&wait=40", content=long_clip)
        assert limited.status_code == 422 and limited.json()["error"]["code"] == "time_limit_exceeded", limited.text
        assert time.monotonic() - started < 7, "stopped at its 6 s limit, not at the end of the video"

        job = client.post("/predict?mode=paper&wait=0", content=long_clip).json()
        wait_until(lambda: client.get(job["status_url"]).json()["status"] == "running", 30, "the job to start")
        assert client.delete(job["status_url"]).json()["status"] == "cancelled"
        started = time.monotonic()
        after = client.post("/predict?wait=30", content=SINGLE.read_bytes())
        assert after.status_code == 200, "the next job is not stuck behind the cancelled one"
        assert time.monotonic() - started < 10
        assert client.get(job["status_url"]).json()["status"] == "cancelled"


def test_a_job_that_kills_its_worker_every_time_fails_after_three_deliveries(
    broker_url: str, tmp_path: Path, long_clip: bytes, data: Path
) -> None:
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=queue, visibility_timeout_s=3, task_time_limit_s=20
    )
    env = service_env(
        broker_url, settings.blob_dir, VFER_QUEUE=queue, VFER_VISIBILITY_TIMEOUT_S="3", VFER_TASK_TIME_LIMIT_S="20"
    )
    with TestClient(create_app(settings)) as client:
        job = client.post("/predict?mode=paper&wait=0", content=long_clip).json()
        for delivery in range(3):  # each delivery's worker dies mid-job (SIGKILL, as the OOM killer would)
            worker = Worker(env, tmp_path / f"worker{delivery}.log")
            try:
                wait_until(lambda: client.get(job["status_url"]).json()["status"] == "running", 60, "a delivery")
            finally:
                worker.kill()
            client.app.state.jobs.app.backend.store_result(job["job_id"], None, "QUEUED")  # as before it ran
        survivor = Worker(env, tmp_path / "survivor.log")
        try:
            wait_until(lambda: client.get(job["status_url"]).json()["status"] == "failed", 60, "the fourth delivery")
            assert client.get(job["status_url"]).json()["error"]["code"] == "worker_crashed"
            assert _blobs(settings.blob_dir) == [], "its upload is deleted"
        finally:
            survivor.stop()


def test_a_job_longer_than_the_visibility_timeout_runs_once_to_its_end(
    broker_url: str, tmp_path: Path, long_clip: bytes, data: Path
) -> None:
    """Redis hands the job of a live worker out again once it runs past the visibility timeout:
    the copies ran it again on the worker's other processes (three at once ran past the time
    limit; a fourth would fail it as worker_crashed). Now the copies step aside, and the reaper
    (looking every second) does not take the job they leave for a lost one."""
    queue = f"slow-{uuid.uuid4().hex[:8]}"
    times = {"visibility_timeout_s": 3, "task_time_limit_s": 29}
    settings = Settings(broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=queue, reaper_check_s=1.0, **times)
    env = service_env(
        broker_url, settings.blob_dir, VFER_QUEUE=queue, VFER_VISIBILITY_TIMEOUT_S="3", VFER_TASK_TIME_LIMIT_S="29"
    )
    log = tmp_path / "worker.log"
    worker = Worker(env, log, pool="prefork", concurrency=3)
    try:
        with TestClient(create_app(settings)) as client:
            wait_until(lambda: client.get("/readyz").json()["workers"], 60, "the worker")
            job = client.post("/predict?mode=paper&wait=0", content=long_clip).json()
            wait_until(lambda: client.get(job["status_url"]).json()["status"] in ("done", "failed"), 90, "the job")
            status = client.get(job["status_url"]).json()
            assert status["status"] == "done", status
            assert len(status["result"]["faces"]) == 1, "the one face of the clip"
            assert gateway_metric(client, "vfer_jobs_sent_again_total") == 0, "the reaper took it for lost"
    finally:
        worker.stop()
    assert "this copy steps aside" in log.read_text(), "the broker handed the job out again (the case under test)"


def test_the_sweeper_deletes_uploads_whose_job_ended_or_never_was(broker_url: str, tmp_path: Path) -> None:
    settings = Settings(broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=f"idle-{uuid.uuid4().hex[:8]}")
    with TestClient(create_app(settings)) as client:
        jobs = client.app.state.jobs
        queued = client.post("/predict?wait=0", content=SINGLE.read_bytes()).json()["job_id"]  # nobody takes it
        orphan = uuid.uuid4().hex  # an upload whose job never reached Redis (the gateway died, Redis restarted empty)
        jobs.blobs.put(orphan, b"left behind")
        jobs.blobs.put(preview_key(queued), b"a preview stays while its job is known")
        jobs.blobs.put(preview_key(orphan), b"a preview of an unknown job goes")
        partial = settings.blob_dir / f".{uuid.uuid4().hex}.part"  # a gateway killed mid-upload
        partial.write_bytes(b"half")
        old = time.time() - 3600
        os.utime(partial, (old, old))
        assert jobs.remove_orphans(older_than_s=0) == 2
        jobs.blobs.sweep()
        kept = sorted(p.name for p in _blobs(settings.blob_dir))
        assert kept == [queued, preview_key(queued)], "only the queued job's upload and preview stay"


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only: mounting is what makes the file system really full or read-only)."""
    if os.geteuid() != 0:
        pytest.fail("this test mounts a tmpfs and needs root (CI runs as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_or_read_only_store_is_503_and_not_ready(broker_url: str, small_tmpfs: Path, data: Path) -> None:
    settings = Settings(broker_url=broker_url, blob_dir=small_tmpfs, queue=f"idle-{uuid.uuid4().hex[:8]}")
    with TestClient(create_app(settings)) as client:
        too_much = SINGLE.read_bytes() * 12  # 2.4 MB: more than the file system holds, less than the limit
        full = client.post("/predict?wait=0", content=too_much)
        assert full.status_code == 503, full.text
        assert full.json()["error"]["code"] == "storage_unavailable" and full.headers["Retry-After"]
        assert _blobs(small_tmpfs) == [] and not list(small_tmpfs.glob(".*")), "nothing half-written is left"
        assert client.get("/readyz").json()["storage"] is True
        subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
        read_only = client.post("/predict?wait=0", content=SINGLE.read_bytes())
        assert read_only.status_code == 503 and read_only.json()["error"]["code"] == "storage_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["storage"] is False


def test_a_running_job_reports_progress_and_stops_when_deleted(
    broker_url: str, tmp_path: Path, long_clip: bytes, data: Path
) -> None:
    queue = f"progress-{uuid.uuid4().hex[:8]}"
    settings = Settings(broker_url=broker_url, blob_dir=tmp_path / "blobs", queue=queue)
    worker = Worker(service_env(broker_url, settings.blob_dir, VFER_QUEUE=queue), tmp_path / "worker.log")
    try:
        with TestClient(create_app(settings)) as client:
            wait_until(lambda: client.get("/readyz").json()["workers"], 60, "the worker")
            job = client.post("/predict?mode=paper&wait=0", content=long_clip).json()
            wait_until(lambda: "progress" in client.get(job["status_url"]).json(), 30, "a progress report")
            first = client.get(job["status_url"]).json()
            assert first["status"] == "running" and first["progress"]["duration_s"] == pytest.approx(60, abs=0.5)
            wait_until(
                lambda: client.get(job["status_url"]).json()["progress"]["done_s"] > first["progress"]["done_s"],
                10,
                "progress to advance",
            )
            assert client.delete(job["status_url"]).json()["status"] == "cancelled"
            started = time.monotonic()
            after = client.post("/predict?wait=30", content=SINGLE.read_bytes())
            assert after.status_code == 200 and time.monotonic() - started < 10, "the worker let the job go"
            assert client.get(job["status_url"]).json()["status"] == "cancelled"
    finally:
        worker.stop()
