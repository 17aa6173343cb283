"""The tasks: fetch the blob, run the core, return the outcome. Thin on purpose.

User errors come back as a normal outcome `{"ok": false, "error": {code, message}}` (never
retried, never a crash); only transient faults (the blob volume hiccuping) are retried.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from celery import Celery, Task, states
from celery.exceptions import Ignore

from vfer.config import DecodeLimits, PipelineConfig
from vfer.deadline import Deadline
from vfer.errors import VferError
from vfer.models.resolver import resolve_model
from vfer_jobs.blobs import BlobNotFoundError, BlobStore, preview_key
from vfer_jobs.contract import PREDICT_TASK, PREDICT_WINDOW_TASK, PROGRESS, Outcome, cancel_flag, failed, succeeded
from vfer_jobs.options import VideoJob, WindowJob, parse
from vfer_jobs.stores import open_blob_store
from vfer_jobs.tracing import JOB_ID, record_steps, span, tag_job
from worker.batch_inference import register_inference
from worker.deliveries import BROKER_BLIPS, MAX_DELIVERIES, WorkerCrashedError, count_delivery, running_lease
from worker.split import queue_video, queue_window, window_result
from worker.worker_settings import WorkerSettings

PROGRESS_EVERY_S = 1.0
log = logging.getLogger("vfer.worker")

if TYPE_CHECKING:
    from vfer.config import CropSpec
    from vfer.face.tracking import FaceModels
    from vfer.predict import Predictor


class PredictTask(Task):  # type: ignore[misc]
    """Keeps models loaded per worker thread, built on its first job and reused after: a process of
    the prefork or solo pool has one thread; the threads pool gets models per thread, since dlib's
    detector must not be used by two threads at once (two jobs at once corrupted its memory)."""

    _loaded: threading.local | None = None
    _loading = threading.Lock()
    _crops: dict[str, tuple[CropSpec, ...]] | None = None
    _blobs: BlobStore | None = None

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            self._blobs = open_blob_store(settings_of(self.app))
        return self._blobs

    def _thread(self) -> threading.local:
        with self._loading:
            if self._loaded is None:
                self._loaded = threading.local()
            return self._loaded

    def predictor(self, model: str) -> Predictor:
        """The predictor of a model as `resolved_model` names it."""
        from vfer.predict import Predictor

        settings = settings_of(self.app)
        loaded = self._thread()
        predictors: dict[str, Predictor] = loaded.__dict__.setdefault("predictors", {})
        if not predictors and settings.torch_threads:
            import torch

            torch.set_num_threads(settings.torch_threads)
        if model not in predictors:
            others = next(iter(predictors.values()), None)
            face_models = others.face_models if others else None
            predictors[model] = Predictor(
                model, backend=settings.backend, face_models=face_models, threads=settings.torch_threads
            )
        return predictors[model]

    def face_models(self) -> FaceModels:
        """The face detector and landmarks (split topology: the models stay on the inference workers)."""
        from vfer.face.tracking import FaceModels

        loaded = self._thread()
        if getattr(loaded, "face_models", None) is None:
            defaults = PipelineConfig()
            loaded.face_models = FaceModels.load(defaults.upsample, defaults.landmarks)
        models: FaceModels = loaded.face_models
        return models

    def crops(self, model: str) -> tuple[CropSpec, ...]:
        """The crops a (resolved) model takes, read from its metadata once."""
        from vfer.inference import model_crops

        if self._crops is None:
            self._crops = {}
        if model not in self._crops:
            self._crops[model] = model_crops(model)
        return self._crops[model]

    def warm_up(self) -> None:
        """Load what the first job needs before it comes (so no request pays for it)."""
        settings = settings_of(self.app)
        if settings.topology == "split":
            self.face_models()
            self.crops(settings.model)
        else:
            self.predictor(settings.model)


def resolved_model(task: PredictTask, requested: str | None) -> str:
    """What a job loads: the served model when it names none, else `requested_model`."""
    settings = settings_of(task.app)
    return settings.model if requested is None else requested_model(requested, settings)


def requested_model(name: str, settings: WorkerSettings) -> str:
    """What a job's model name loads (`vfer.models.resolver`): a shipped model or ensemble by name,
    NAME.pt in the operator's model directory by its path. Never a path from the network; the error
    is the same whether or not a file exists."""
    record = resolve_model(name, model_dir=settings.model_dir)
    return str(record.path) if record.kind == "checkpoint" else name


def settings_of(app: Celery) -> WorkerSettings:
    """The settings the app was created with (see create_worker_app)."""
    settings: WorkerSettings = app.vfer_settings
    return settings


def job_deadline(task: PredictTask, job_id: str) -> Deadline:
    """The job's time limit, a little inside Celery's hard one (which kills the process), and its
    cancellation, read from the result backend (DELETE /jobs/{id} sets the job's cancel flag). A
    second delivery of a job (redelivered, or sent again by the reaper) also stops once another
    one has stored the job's outcome: what is left of it would be waste."""
    limit = settings_of(task.app).task_time_limit_s

    def cancelled() -> bool:
        try:
            return task.app.backend.get(cancel_flag(job_id)) is not None or _ended(task, job_id)
        except BROKER_BLIPS:  # Redis away for a moment: the job goes on, and asks again next time
            return False

    return Deadline(limit - min(10.0, limit / 10), cancelled)


def _progress(task: PredictTask, job_id: str) -> Callable[[float, float], None]:
    """Reports the job's progress as its state, at most once a second (GET /jobs/{id} shows it)."""
    last = 0.0

    def report(done_s: float, duration_s: float) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            meta = {"done_s": round(done_s, 1), "duration_s": round(duration_s, 1)}
            with contextlib.suppress(*BROKER_BLIPS):  # progress is news, not the job: a blip skips one
                task.update_state(task_id=job_id, state=PROGRESS, meta=meta)

    return report


def _on_blob(
    task: PredictTask, job_id: str, work: Callable[[bytes, Deadline], dict[str, Any] | None]
) -> Outcome | None:
    """Run `work` on the job's blob within the job's deadline, unless the job has already killed
    its worker MAX_DELIVERIES times (None: the split topology's inference side stores the outcome, or
    the job has already ended)."""
    settings = settings_of(task.app)
    tag_job(job_id)
    with running_lease(task.app, job_id, settings.visibility_timeout_s) as runs_here:
        if not runs_here:  # the transport's copy of a job that runs past the visibility timeout
            log.warning(
                "job %s runs past VFER_VISIBILITY_TIMEOUT_S on another worker, which the broker gave it "
                "again: this copy steps aside",
                job_id,
            )
            return None
        delivery = count_delivery(task.app, job_id, task.request.retries or 0, settings.visibility_timeout_s * 4)
        if delivery > MAX_DELIVERIES:  # its upload is not even read again
            task.blobs.delete_quietly(job_id)
            message = f"the job's worker died {MAX_DELIVERIES} times while running it; not tried again"
            return failed(WorkerCrashedError.code, message)
        if _ended(task, job_id):  # delivered again after its outcome (or sent again by the reaper): not run twice
            task.blobs.delete_quietly(job_id)
            return None
        return finish(task.blobs, job_id, lambda data: work(data, job_deadline(task, job_id)))


def _ended(task: PredictTask, job_id: str) -> bool:
    return bool(task.app.backend.get_task_meta(job_id)["status"] in states.READY_STATES)


def finish(blobs: BlobStore, job_id: str, work: Callable[[bytes], dict[str, Any] | None]) -> Outcome | None:
    """`work` on the blob stored under `job_id`; user errors, time limits and cancellations become
    outcomes; the blob is deleted when the job ends, and a failed delete never changes the outcome
    (a transient OSError from `work` or the read propagates, to be retried with the blob). None:
    `work` handed the job on (split topology), whose end stores the outcome; its upload is kept, so
    that a job whose window message was lost can be sent again whole (the gateway's sweep deletes
    the uploads of ended jobs)."""
    try:
        with span("vfer.read_upload"):
            data = blobs.read(job_id)
        with span("vfer.run", **{JOB_ID: job_id}):
            started = time.time_ns()
            result = work(data)
            record_steps(started, (result or {}).get("timings_ms", {}))
        outcome = None if result is None else succeeded(result)
    except VferError as exc:
        outcome = failed(exc.code, str(exc))
    except BlobNotFoundError as exc:
        outcome = failed("upload_expired", str(exc))
    if outcome is not None:
        blobs.delete_quietly(job_id)  # the job is done either way
    return outcome


def run_job(task: PredictTask, job_id: str, payload: dict[str, Any]) -> Outcome | None:
    """Predict an uploaded video (split topology: find its faces and queue its windows)."""

    def work(video: bytes, deadline: Deadline) -> dict[str, Any] | None:
        job = parse(VideoJob, payload)
        settings = settings_of(task.app)
        limits = DecodeLimits(
            max_bytes=settings.max_upload_bytes,
            max_duration_s=settings.max_duration_s,
            max_pixels=settings.max_pixels,
            max_decoded_pixels=settings.max_decoded_pixels,
        )
        config = job.options.to_pipeline_config(limits)
        model = resolved_model(task, job.options.model)
        if job.preview:
            write_preview(task.blobs, job_id, video, limits, deadline)
        if settings.topology == "split":
            from vfer.pipeline import extract_faces

            config = replace(config, crops=task.crops(model))
            progress = _progress(task, job_id)
            queue_video(
                task.app,
                job_id,
                model,
                config,
                job.filename,
                lambda sink: extract_faces(video, task.face_models(), config, deadline, progress, sink),
                deadline,
            )
            return None
        result = task.predictor(model).predict(
            video, name=job.filename, config=config, deadline=deadline, progress=_progress(task, job_id)
        )
        return result.to_dict()

    return _on_blob(task, job_id, work)


def write_preview(blobs: BlobStore, job_id: str, video: bytes, limits: DecodeLimits, deadline: Deadline) -> None:
    """The job's copy that any browser plays (POST /predict?preview=true), stored before the job's
    work, so it is there when the result is."""
    from vfer.video.preview import webm_preview

    with span("vfer.preview", **{JOB_ID: job_id}):
        blobs.put(preview_key(job_id), webm_preview(video, limits, deadline))


def run_window(task: PredictTask, job_id: str, payload: dict[str, Any]) -> Outcome | None:
    """Faces and expressions in one live-stream window, tracked on from the stream's last window."""
    from vfer.face.tracking import TrackerState
    from vfer.pipeline import faces_in_window
    from vfer_jobs.framepack import unpack
    from worker.frames import decode_frame

    def work(blob: bytes, deadline: Deadline) -> dict[str, Any] | None:
        job = parse(WindowJob, payload)
        split = settings_of(task.app).topology == "split"
        model = resolved_model(task, job.options.model)
        crops = task.crops(model) if split else task.predictor(model).classifier.crops
        config = replace(job.options.to_pipeline_config(), crops=crops)
        packed = unpack(blob)
        pictures = [decode_frame(f, job.first_frame + i, color=config.color) for i, f in enumerate(packed)]
        colors = [bgr for _, bgr in pictures if bgr is not None]
        frames = [(f.time_s, gray) for f, (gray, _) in zip(packed, pictures, strict=True)]
        state = TrackerState.from_dict(job.tracks)
        color_frames = colors if len(colors) == len(pictures) else None
        if not split:
            faces, state = task.predictor(model).predict_window(
                frames, state, config=config, deadline=deadline, colors=color_frames
            )
            return window_result(faces, state.to_dict())
        clips, state = faces_in_window(frames, task.face_models(), config, state, deadline, color_frames)
        queue_window(task.app, job_id, model, crops, clips, state.to_dict(), deadline)
        task.blobs.delete_quietly(job_id)  # a stream moves on: a lost window ends job_lost, not sent again
        return None

    return _on_blob(task, job_id, work)


# Retried only for transient faults (the blob volume), with exponential backoff.
_TASK_OPTIONS: dict[str, Any] = {
    "base": PredictTask,
    "bind": True,
    "autoretry_for": (OSError,),
    "retry_backoff": True,
    "retry_backoff_max": 30,
    "max_retries": 3,
}


def warm_up(app: Celery) -> None:
    app.tasks[PREDICT_TASK].warm_up()


def _handed_on(outcome: Outcome | None) -> Outcome:
    """The outcome to store, or (split topology) none: the job's last window will store it."""
    if outcome is None:
        raise Ignore()
    return outcome


def register(app: Celery) -> None:
    @app.task(name=PREDICT_TASK, **_TASK_OPTIONS)
    def predict(self: PredictTask, job_id: str, payload: dict[str, Any]) -> Outcome:
        return _handed_on(run_job(self, job_id, payload))

    @app.task(name=PREDICT_WINDOW_TASK, **_TASK_OPTIONS)
    def predict_window(self: PredictTask, job_id: str, payload: dict[str, Any]) -> Outcome:
        return _handed_on(run_window(self, job_id, payload))

    register_inference(app)
