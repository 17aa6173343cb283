"""The split topology: real job (faces) workers and inference workers on their own queues, the
real Redis, the real gateway; results compared with the single-worker pipeline's."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from celery.result import AsyncResult
from fastapi.testclient import TestClient

from benchmarks.clips import make_long_clip
from benchmarks.split import finish_job, queue_job, real_windows, send
from service.app import create_app
from service.celery_client import create_celery
from service.gateway_settings import Settings
from tests.media import VIDEO
from tests.service.helpers import (
    FirstWindowWatch,
    GrpcServer,
    Publications,
    Worker,
    free_port,
    service_env,
    wait_until,
    waiting,
)
from vfer.config import PipelineConfig
from vfer.predict import Predictor
from vfer_client.grpc_client import Client, encoded_frames, stream_requests
from vfer_jobs.contract import PREDICT_TASK
from vfer_jobs.options import VideoJob
from vfer_jobs.settings import load_settings
from worker.celery_app import create_worker_app
from worker.windows import WindowStore
from worker.worker_settings import WorkerSettings

CLIPS = [VIDEO / "single_face.mp4", VIDEO / "grid" / "bbaf2n.mpg", VIDEO / "face_noface.mov", VIDEO / "no_face.mp4"]


class Split:
    """Queues, settings and worker environment of one split deployment on the test database."""

    def __init__(self, broker_url: str, folder: Path, visibility_s: int = 4, **env: str) -> None:
        """`visibility_s`: short, so that a killed worker's job comes back within the test."""
        tag = uuid.uuid4().hex[:8]
        self.folder = folder
        self.jobs_queue, self.inference_queue = f"split-jobs-{tag}", f"split-inference-{tag}"
        self.settings = Settings(
            broker_url=broker_url,
            blob_dir=folder / "blobs",
            queue=self.jobs_queue,
            topology="split",
            inference_queue=self.inference_queue,
            visibility_timeout_s=visibility_s,
            task_time_limit_s=30,
            default_wait_s=60,
        )
        self.env = service_env(
            broker_url,
            self.settings.blob_dir,
            VFER_QUEUE=self.jobs_queue,
            VFER_TOPOLOGY="split",
            VFER_INFERENCE_QUEUE=self.inference_queue,
            VFER_VISIBILITY_TIMEOUT_S=str(visibility_s),
            VFER_TASK_TIME_LIMIT_S="30",
            **env,
        )
        self.redis = redis.Redis.from_url(broker_url)

    def worker(self, role: str, log: str, **env: str) -> Worker:
        return Worker({**self.env, **env}, self.folder / log, role=role)

    def wait_for_workers(self, count: int) -> None:
        celery = create_celery(self.settings)
        wait_until(lambda: len(celery.control.ping(timeout=1.0)) >= count, 90, f"{count} workers to answer")


@pytest.fixture(scope="module")
def split(broker_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Split]:
    yield Split(broker_url, tmp_path_factory.mktemp("split"))


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def split_workers(split: Split, metrics_port: int) -> Iterator[tuple[Worker, Worker]]:
    faces = split.worker("jobs", "faces.log")
    inference = split.worker("inference", "inference.log", VFER_METRICS_PORT=str(metrics_port))
    yield faces, inference
    faces.stop()
    inference.stop()


@pytest.fixture(scope="module")
def client(split: Split, split_workers: tuple[Worker, Worker]) -> Iterator[TestClient]:
    split.wait_for_workers(2)
    with TestClient(create_app(split.settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(backend="auto")  # what a single worker runs on a CPU


def _comparable(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("timings_ms", "source")}


def test_split_results_are_the_single_workers(client: TestClient, predictor: Predictor, data: Path) -> None:
    for clip in CLIPS:
        response = client.post("/predict?wait=60", files={"file": (clip.name, clip.read_bytes())})
        assert response.status_code == 200, response.text
        single = predictor.predict(clip.read_bytes(), name=clip.name).to_dict()
        assert _comparable(response.json()) == _comparable(single), clip.name
        assert response.json()["source"] == clip.name
        assert set(response.json()["timings_ms"]) >= {"decode_and_faces", "model", "total"}


def _metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(f"{name} ")]
    assert values, f"{name} is not in the inference worker's metrics"
    return values[0]


def test_inference_metrics_and_both_queue_depths(client: TestClient, metrics_port: int, data: Path) -> None:
    before = _metric(metrics_port, "vfer_inference_windows_total")
    result = client.post("/predict?wait=60", content=CLIPS[1].read_bytes()).json()
    windows = sum(len(face["windows"]) for face in result["faces"])
    assert windows > 0
    assert _metric(metrics_port, "vfer_inference_windows_total") - before == windows
    assert _metric(metrics_port, "vfer_inference_batch_windows_count") >= 1
    gateway = client.get("/metrics").text
    assert "vfer_queue_depth 0.0" in gateway and "vfer_inference_queue_depth 0.0" in gateway


def test_live_stream_windows_go_through_the_inference_queue(
    split: Split, client: TestClient, metrics_port: int, data: Path
) -> None:
    before = _metric(metrics_port, "vfer_inference_windows_total")
    server = GrpcServer(split.settings)
    try:
        with Client(server.target) as grpc_client:
            requests = stream_requests(encoded_frames(CLIPS[0]))  # type: ignore[arg-type]
            windows = list(grpc_client.stream(requests, timeout=120))
    finally:
        server.stop()
    assert len(windows) >= 2 and all(len(window.faces) == 1 for window in windows)
    assert {face.track_id for window in windows for face in window.faces} == {0}
    assert _metric(metrics_port, "vfer_inference_windows_total") - before == len(windows)


def _done(client: TestClient, job: dict[str, Any]) -> bool:
    return bool(client.get(job["status_url"]).json()["status"] == "done")


def test_a_killed_faces_worker_leaves_its_job_to_another(
    broker_url: str, tmp_path: Path, predictor: Predictor, publications: Publications, data: Path
) -> None:
    """SIGKILL the faces worker after it has queued some windows (some already classified):
    the job is redelivered, found again, and finishes once with the single worker's result."""
    split = Split(broker_url, tmp_path)
    clip = make_long_clip(VIDEO / "single_face.mp4", 12.0, tmp_path / "long.mp4").read_bytes()
    inference = split.worker("inference", "inference.log")
    first = split.worker("jobs", "first.log")
    second: Worker | None = None
    try:
        split.wait_for_workers(2)
        with TestClient(create_app(split.settings)) as client:
            job = client.post("/predict?wait=0&mode=paper", content=clip).json()

            def queued_some() -> bool:
                progress = client.get(job["status_url"]).json().get("progress") or {}
                return float(progress.get("done_s", 0)) > 4.0  # windows of the first seconds are out

            wait_until(queued_some, 60, "the faces worker to queue windows")
            first.kill()
            assert client.get(job["status_url"]).json()["status"] == "running"
            second = split.worker("jobs", "second.log")
            wait_until(lambda: _done(client, job), 120, "another faces worker to finish the job")
            result = client.get(job["status_url"]).json()["result"]
        time.sleep(1.0)  # a second (wrong) finish would be published by now
        assert publications.successes(job["job_id"]) == 1
        single = predictor.predict(clip, config=PipelineConfig(mode="paper")).to_dict()
        assert _comparable(result) == _comparable(single)
    finally:
        first.kill()
        inference.stop()
        if second is not None:
            second.stop()


def test_a_killed_inference_worker_leaves_its_windows_to_another(
    broker_url: str, tmp_path: Path, predictor: Predictor, publications: Publications, data: Path
) -> None:
    """SIGKILL an inference worker that holds a job's windows unacknowledged (it waits 10 s to
    fill its batch): they are redelivered to the next one, and the job finishes once."""
    split = Split(broker_url, tmp_path)
    clip = CLIPS[1]
    faces = split.worker("jobs", "faces.log")
    slow = split.worker("inference", "slow.log", VFER_INFERENCE_MAX_WAIT_MS="10000")
    second: Worker | None = None
    try:
        split.wait_for_workers(2)
        with TestClient(create_app(split.settings)) as client:
            job = client.post("/predict?wait=0", files={"file": (clip.name, clip.read_bytes())}).json()

            def held() -> bool:
                """Every classify message of the job (its windows and its end) taken from the queue
                and not acknowledged. Killing a worker while it takes a message would lose that one:
                Redis' transport pops a message, then records it as unacknowledged."""
                total = split.redis.hget(f"vfer-split-{job['job_id']}-job", "total")
                if total is None or waiting(split.redis, split.inference_queue):
                    return False
                mine = [v for v in split.redis.hvals("unacked") if job["job_id"].encode() in v and b"classify" in v]
                return len(mine) == int(total) + 1

            wait_until(lambda: client.get(job["status_url"]).json()["status"] == "running", 60, "the job to start")
            wait_until(held, 60, "the inference worker to take the windows")
            assert not _done(client, job)
            slow.kill()
            second = split.worker("inference", "second.log")
            wait_until(lambda: _done(client, job), 90, "another inference worker to finish the job")
            result = client.get(job["status_url"]).json()["result"]
        time.sleep(1.0)
        assert publications.successes(job["job_id"]) == 1
        assert _comparable(result) == _comparable(predictor.predict(clip.read_bytes()).to_dict())
    finally:
        slow.kill()
        faces.stop()
        if second is not None:
            second.stop()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "needs VFER_TOPOLOGY=split"),
        ({"VFER_TOPOLOGY": "split", "VFER_INFERENCE_QUEUE": "vfer"}, "VFER_INFERENCE_QUEUE"),
        ({"VFER_TOPOLOGY": "split", "VFER_INFERENCE_MAX_BATCH": "0"}, "VFER_INFERENCE_MAX_BATCH"),
    ],
)
def test_a_misconfigured_inference_worker_says_why_in_one_line(
    broker_url: str, tmp_path: Path, env: dict[str, str], says: str
) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "vfer.cli", "worker", "--role", "inference"],
        env=service_env(broker_url, tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0 and says in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_a_job_delivered_again_after_its_outcome_keeps_it(split: Split, client: TestClient, data: Path) -> None:
    """A worker that dies after the outcome is stored but before the ack gets the job delivered
    again: that delivery sees the job ended and is skipped (a split job's upload is kept until
    then), and nothing replaces the stored result (Celery's backend keeps a SUCCESS state)."""
    clip = CLIPS[0]
    job = client.post("/predict?wait=0", files={"file": (clip.name, clip.read_bytes())}).json()
    wait_until(lambda: _done(client, job), 60, "the job")
    result = client.get(job["status_url"]).json()["result"]
    payload = VideoJob(filename=clip.name).model_dump(mode="json")
    celery = create_celery(split.settings)
    celery.send_task(PREDICT_TASK, args=[job["job_id"], payload], task_id=job["job_id"], queue=split.jobs_queue)
    deliveries = f"vfer-deliveries-{job['job_id']}-0"
    wait_until(lambda: split.redis.get(deliveries) == b"2", 30, "the second delivery")
    time.sleep(1.0)  # its outcome, if it stored one, is stored by now
    again = client.get(job["status_url"]).json()
    assert again["status"] == "done" and again["result"] == result


def test_a_lost_window_fails_its_job_and_only_its_job(broker_url: str, tmp_path: Path, data: Path) -> None:
    """Two jobs' windows in one inference batch, one job's crops gone (expired, or Redis lost
    them): that job ends `window_data_lost`, the other gets its result."""
    split = Split(broker_url, tmp_path)
    app = create_worker_app(
        load_settings(
            WorkerSettings,
            broker_url=broker_url,
            queue=split.jobs_queue,
            topology="split",
            inference_queue=split.inference_queue,
        )
    )
    store = WindowStore.of(app)
    windows = real_windows(CLIPS[0])
    good, lost = f"good-{uuid.uuid4().hex}", f"lost-{uuid.uuid4().hex}"
    for job_id in (good, lost):
        sender = queue_job(app, store, job_id)
        finish_job(sender, [send(sender, window) for window in windows])
    split.redis.delete(f"vfer-split-{lost}-window-1")
    inference = split.worker("inference", "inference.log")
    try:
        wait_until(lambda: all(AsyncResult(j, app=app).state == "SUCCESS" for j in (good, lost)), 90, "both jobs")
        outcome_good, outcome_lost = (AsyncResult(j, app=app).result for j in (good, lost))
    finally:
        inference.stop()
    assert outcome_good["ok"] and len(outcome_good["result"]["faces"]) == 1  # a stream window: one per face
    assert not outcome_lost["ok"] and outcome_lost["error"]["code"] == "window_data_lost"
    left = split.redis.keys(f"vfer-split-{lost}-*")
    assert left == [f"vfer-split-{lost}-finishing".encode()] and split.redis.ttl(left[0]) > 0, left


def test_a_stopped_inference_worker_pauses_the_faces_workers(
    broker_url: str, tmp_path: Path, publications: Publications, data: Path
) -> None:
    """SIGSTOP the only inference worker while 10 jobs run: the faces worker stops queuing windows
    at VFER_INFERENCE_MAX_PENDING, so the crops held in Redis stay bounded and the gateway answers
    429; after SIGCONT every job is done, once. Before, the crops piled up without bound."""
    bound = 6
    # No worker dies here: a visibility timeout longer than the pause keeps each paused faces
    # task's message unacknowledged, as in production (900 s), instead of returning it to the
    # job queue mid-pause (the backlog would lose it for a moment and a window more would go).
    split = Split(broker_url, tmp_path, visibility_s=60, VFER_INFERENCE_MAX_PENDING=str(bound))
    settings = split.settings.model_copy(update={"inference_max_pending": bound})
    clip = make_long_clip(VIDEO / "single_face.mp4", 12.0, tmp_path / "long.mp4").read_bytes()
    inference = split.worker("inference", "inference.log")
    faces = split.worker("jobs", "faces.log")

    def crops() -> tuple[int, int]:
        keys = list(split.redis.scan_iter("vfer-split-*-window-*"))
        return len(keys), sum(int(split.redis.strlen(key)) for key in keys)

    try:
        split.wait_for_workers(2)
        os.killpg(inference.process.pid, signal.SIGSTOP)
        with TestClient(create_app(settings)) as client:
            jobs = [client.post("/predict?wait=0", content=clip).json() for _ in range(10)]
            backlog = lambda: _metric_text(client.get("/metrics").text, "vfer_inference_backlog")  # noqa: E731
            wait_until(lambda: backlog() >= bound, 60, "the backlog (as /metrics reports it) to reach its bound")
            samples = []
            for _ in range(25):  # 5 s: the faces worker would have queued every window of a job by then
                samples.append(crops())
                time.sleep(0.2)
            refused = client.post("/predict?wait=0", content=clip)
            assert refused.status_code == 429 and "inference workers are behind" in refused.json()["error"]["message"]
            assert backlog() >= bound
            os.killpg(inference.process.pid, signal.SIGCONT)
            wait_until(lambda: all(_done(client, job) for job in jobs), 180, "every job after SIGCONT")
        window_bytes = max(size / count for count, size in samples if count)
        # One window may be held beyond the bound: the one a stopped worker's pending read popped.
        assert max(count for count, _ in samples) <= bound + 1, samples
        assert max(size for _, size in samples) <= (bound + 1) * window_bytes
        time.sleep(1.0)
        assert all(publications.successes(job["job_id"]) == 1 for job in jobs)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(inference.process.pid, signal.SIGCONT)
        inference.stop()
        faces.stop()


def _metric_text(text: str, name: str) -> float:
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(f"{name} ")))


def test_the_inference_backlog_counts_only_the_inference_queues_taken_messages(broker_url: str) -> None:
    """A faces worker's running job is an unacknowledged message too, in the same `unacked` hash
    as the windows an inference worker holds; before, it counted toward the inference bound, so
    each running job made the faces workers pause, and the gateway refuse, one window early."""
    from celery import Celery

    from vfer_jobs.broker import inference_backlog

    app = Celery(broker=broker_url)
    jobs, inference = f"backlog-jobs-{uuid.uuid4().hex}", f"backlog-inference-{uuid.uuid4().hex}"
    for queue in (jobs, jobs, inference, inference):
        app.send_task("vfer.nothing", queue=queue)
    try:
        with app.connection_for_write() as conn:
            channel = conn.channel()
            try:
                assert all(channel.basic_get(queue, no_ack=False) for queue in (jobs, jobs, inference))
                assert redis.Redis.from_url(broker_url).hlen("unacked") == 3
                assert inference_backlog(app, inference) == 2  # one waiting, one taken: not the two jobs
                assert inference_backlog(app, jobs) == 2  # two taken, none waiting
            finally:
                channel.close()  # gives the taken messages back to their queues
    finally:
        redis.Redis.from_url(broker_url).delete(jobs, inference)
        app.close()


def test_a_live_windows_faces_are_classified_before_a_waiting_videos(broker_url: str, tmp_path: Path) -> None:
    """The inference queue serves a live-stream window's faces before the windows of an uploaded
    video queued ahead of them. Before: one first-in-first-out list, so the stream's first window
    waited for the whole video to be classified."""
    split = Split(broker_url, tmp_path)
    settings = split.settings.model_copy(update={"stream_stall_s": 300})
    celery = create_celery(settings)
    faces = split.worker("jobs", "faces.log")
    inference: Worker | None = None
    server: GrpcServer | None = None
    try:
        split.wait_for_workers(1)
        with TestClient(create_app(settings)) as client:  # no inference worker yet: windows wait
            video = client.post("/predict?wait=0", content=CLIPS[0].read_bytes()).json()

            def video_queued() -> bool:
                total = split.redis.hget(f"vfer-split-{video['job_id']}-job", "total")
                return total is not None and waiting(split.redis, split.inference_queue) == int(total) + 1

            wait_until(video_queued, 60, "the faces worker to queue every window of the video")
            queued = waiting(split.redis, split.inference_queue)
            server = GrpcServer(settings)
            watch = FirstWindowWatch(server.target, CLIPS[0], lambda: AsyncResult(video["job_id"], app=celery).state)
            wait_until(lambda: waiting(split.redis, split.inference_queue) > queued, 60, "the live window's faces")
            inference = split.worker("inference", "inference.log", VFER_INFERENCE_MAX_BATCH="1")
            assert watch.result() != "SUCCESS", (
                "the live window's faces waited for the video's windows queued before them"
            )
            wait_until(lambda: _done(client, video), 120, "the video to be served after the stream")
    finally:
        if server is not None:
            server.stop()
        for worker in (faces, inference):
            if worker is not None:
                worker.stop()
