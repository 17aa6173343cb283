"""The split topology against whole-job workers, side by side in one run.

    python -m benchmarks.split [--clips 12] [--seconds 20] [--jobs 8] [--windows 64]

Needs Redis on 127.0.0.1:6379 (a database of its own, claimed as the tests claim theirs). All on this machine:
1. Throughput: `--clips` uploads of a real clip (single_face.mp4 looped to `--seconds`) sent at
   once to `vfer serve`; clips per second from the first upload to the last result, for two
   whole-job workers and for one faces worker plus one inference worker (VFER_TOPOLOGY=split).
2. Live-stream window latency, same two set-ups: one 30 fps gRPC stream paced in real time,
   each window's latency counted from when its last frame was due.
3. The inference worker alone: a producer writes the real crops of `--windows` windows for each
   of `--jobs` concurrent jobs as fast as Redis takes them (what faces workers would send);
   windows per second through the worker with batches of 1 and of VFER_INFERENCE_MAX_BATCH.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from celery import Celery
from celery.result import AsyncResult

from benchmarks.clips import SINGLE_FACE, make_long_clip
from benchmarks.live_stream import jpeg_frames, measure, percentile
from benchmarks.machine import describe
from benchmarks.servers import WorkerSpec, running_service, upload_all, wait_all_done
from tests.service.helpers import Worker, claimed_broker, service_env, wait_until
from vfer.config import PipelineConfig
from vfer.deadline import Deadline
from vfer.extraction_codec import faces_to_dict
from vfer.inference import model_crops
from vfer.models import DEFAULT_MODEL
from vfer.pipeline import FaceClips, FaceWindow, extract_faces
from vfer_jobs.contract import VIDEO_PRIORITY
from vfer_jobs.settings import load_settings
from worker.celery_app import create_worker_app
from worker.split import WindowSender
from worker.windows import WindowStore
from worker.worker_settings import WorkerSettings

SPLIT = {"VFER_TOPOLOGY": "split"}
SETUPS: dict[str, tuple[list[WorkerSpec], dict[str, str]]] = {
    "2 whole-job workers": ([WorkerSpec(), WorkerSpec()], {}),
    "split: 1 faces worker (1 process) + 1 inference worker": ([WorkerSpec(), WorkerSpec("inference")], SPLIT),
    # one faces process running two jobs at once (dlib and PyAV release the GIL)
    "split: 1 faces worker (1 process, 2 threads) + 1 inference worker": (
        [WorkerSpec(pool="threads", concurrency=2), WorkerSpec("inference")],
        SPLIT,
    ),
    # one faces worker node with a process per core
    "split: 1 faces worker (2 processes) + 1 inference worker": (
        [WorkerSpec(pool="prefork", concurrency=2), WorkerSpec("inference")],
        SPLIT,
    ),
}


def throughput(http: str, clip: bytes, count: int) -> float:
    """Clips per second: `count` uploads at once, until the last result."""
    started = time.perf_counter()
    wait_all_done(http, upload_all(http, clip, count))
    return count / (time.perf_counter() - started)


def serving_figures(clip: bytes, count: int, jpegs: list[bytes]) -> dict[str, Any]:
    rows = {}
    for name, (specs, settings) in SETUPS.items():
        with running_service(specs=specs, settings=settings) as service:
            throughput(service.http, clip, 2)  # warm every worker: models loaded, first job done
            rate = throughput(service.http, clip, count)
            live = measure(service, "grpc", jpegs, 1, realtime=True)
        latency = live["latency"]
        rows[name] = {
            "clips_per_s": round(rate, 3),
            "window_latency_p50_ms": round(statistics.median(latency)),
            "window_latency_p95_ms": round(percentile(latency, 0.95)),
            "stream_errors": len(live["errors"]),
        }
    return rows


def real_windows(clip: Path) -> list[FaceWindow]:
    """The windows of a real clip, with the default model's crops."""
    from vfer.face.tracking import FaceModels

    windows: list[FaceWindow] = []
    config = replace(PipelineConfig(), crops=model_crops(DEFAULT_MODEL))
    extract_faces(clip, FaceModels.load(), config, windows=windows.append)
    return windows


def queue_job(app: Celery, store: WindowStore, job_id: str) -> WindowSender:
    """Start a job the way a faces worker does; `send(sender, window)` queues each of its windows,
    then `finish_job(sender, sent)` its layout and end."""
    store.begin(job_id)
    return WindowSender(
        app, store, job_id, DEFAULT_MODEL, model_crops(DEFAULT_MODEL), Deadline(), priority=VIDEO_PRIORITY
    )


def send(sender: WindowSender, source: FaceWindow) -> FaceWindow:
    """Queue a copy of `source` (the sender releases the crops of what it sends)."""
    window = FaceWindow(source.start_s, source.end_s, source.box, dict(source.clips))
    sender(window)
    return window


def finish_job(sender: WindowSender, sent: list[FaceWindow]) -> None:
    """The job's layout (one face whose windows are `sent`) and its end message."""
    face = FaceClips(0, sent[0].start_s, sent[-1].end_s, sent[0].box, len(sent), sent)
    sender.end({"kind": "window", "faces": faces_to_dict([face], sender.numbers), "tracks": {}})


def produce(settings: WorkerSettings, windows: list[FaceWindow], jobs: int, per_job: int) -> float:
    """Windows per second through the inference worker: `jobs` jobs of `per_job` windows each,
    written in turn (as concurrent faces workers would), until every job's result is stored."""
    app = create_worker_app(settings)
    store = WindowStore.of(app)
    ids = [f"bench-{uuid.uuid4().hex}" for _ in range(jobs)]
    senders = [queue_job(app, store, job_id) for job_id in ids]
    sent: list[list[FaceWindow]] = [[] for _ in ids]
    started = time.perf_counter()
    for i in range(per_job):
        for sender, mine in zip(senders, sent, strict=True):
            mine.append(send(sender, windows[i % len(windows)]))
    for sender, mine in zip(senders, sent, strict=True):
        finish_job(sender, mine)
    for job_id in ids:
        wait_until(lambda job_id=job_id: AsyncResult(job_id, app=app).state == "SUCCESS", 600, job_id)  # type: ignore[misc]
    return jobs * per_job / (time.perf_counter() - started)


def inference_figures(windows: list[FaceWindow], jobs: int, per_job: int, batch: int) -> dict[str, float]:
    rows = {}
    for max_batch in (1, batch):
        with claimed_broker() as broker, tempfile.TemporaryDirectory() as tmp:
            env = service_env(
                broker,
                Path(tmp) / "blobs",
                VFER_TOPOLOGY="split",
                VFER_INFERENCE_QUEUE=f"bench-inference-{max_batch}",
                VFER_INFERENCE_MAX_BATCH=str(max_batch),
                VFER_TORCH_THREADS="2",
            )
            settings = load_settings(
                WorkerSettings,
                broker_url=broker,
                topology="split",
                inference_queue=env["VFER_INFERENCE_QUEUE"],
                inference_max_batch=max_batch,
            )
            worker = Worker(env, Path(tmp) / "inference.log", role="inference")
            try:
                produce(settings, windows, jobs, 4)  # warm-up: the model loaded, the queue declared
                rows[f"batch {max_batch}"] = round(produce(settings, windows, jobs, per_job), 1)
            finally:
                worker.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--stream-seconds", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--windows", type=int, default=64, help="windows per synthetic job")
    parser.add_argument("--batch", type=int, default=WorkerSettings.model_fields["inference_max_batch"].default)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip_path = make_long_clip(SINGLE_FACE, args.seconds, Path(folder) / "clip.mp4")
        clip = clip_path.read_bytes()
        windows = real_windows(clip_path)
    serving = serving_figures(clip, args.clips, jpeg_frames(args.stream_seconds))
    whole, *splits = (serving[name]["clips_per_s"] for name in SETUPS)
    inference = inference_figures(windows, args.jobs, args.windows, args.batch)
    report = {
        "machine": describe(),
        "clip": f"single_face.mp4 looped to {args.seconds:.0f} s, {args.clips} uploads at once",
        "serving": serving,
        "split_over_whole_throughput": [round(split / whole, 3) for split in splits],
        "inference_worker_windows_per_s": inference,
        "batching_speedup": round(inference[f"batch {args.batch}"] / inference["batch 1"], 2),
        "inference_setup": f"{args.jobs} concurrent synthetic jobs x {args.windows} real windows, {DEFAULT_MODEL}",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
