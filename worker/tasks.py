"""The tasks: fetch the blob, run the core, return the outcome. Thin on purpose.

User errors come back as a normal outcome `{"ok": false, "error": {code, message}}` (never
retried, never a crash); only transient faults (the blob volume hiccuping) are retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery import Celery, Task

from vfer.config import DecodeLimits
from vfer.errors import VferError
from vfer.jobs.blobs import BlobNotFoundError, BlobStore, open_blob_store
from vfer.jobs.options import VideoJob, WindowJob, parse
from vfer.jobs.tasks import PREDICT_TASK, PREDICT_WINDOW_TASK, Outcome, failed, succeeded
from worker.settings import WorkerSettings

log = logging.getLogger("vfer.worker")

if TYPE_CHECKING:
    from vfer.predict import Predictor


class PredictTask(Task):  # type: ignore[misc]
    """Keeps models loaded per worker process: built on the first job, reused after."""

    _predictors: dict[str, Predictor] | None = None
    _blobs: BlobStore | None = None

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            self._blobs = open_blob_store(settings_of(self.app))
        return self._blobs

    def predictor(self, model: str | None) -> Predictor:
        from vfer.predict import Predictor

        settings = settings_of(self.app)
        model = model or settings.model
        if self._predictors is None:
            self._predictors = {}
            if settings.torch_threads:
                import torch

                torch.set_num_threads(settings.torch_threads)
        if model not in self._predictors:
            others = next(iter(self._predictors.values()), None)
            face_models = others.face_models if others else None
            self._predictors[model] = Predictor(
                model, backend=settings.backend, face_models=face_models, threads=settings.torch_threads
            )
        return self._predictors[model]

    def warm_up(self) -> None:
        """Load the served model before the first job (so no request pays for it)."""
        self.predictor(None)


def settings_of(app: Celery) -> WorkerSettings:
    """The settings the app was created with (see create_worker_app)."""
    settings: WorkerSettings = app.vfer_settings
    return settings


def _on_blob(task: PredictTask, job_id: str, work: Callable[[bytes], dict[str, Any]]) -> Outcome:
    """Run `work` on the blob stored under `job_id`; user errors become outcomes; the blob is
    deleted when the job ends (a transient OSError propagates, to be retried with the blob)."""
    blobs = task.blobs
    try:
        outcome = succeeded(work(blobs.read(job_id)))
    except VferError as exc:
        outcome = failed(exc.code, str(exc))
    except BlobNotFoundError as exc:
        outcome = failed("upload_expired", str(exc))
    try:
        blobs.delete(job_id)
    except Exception:  # the job is done either way; the sweeper deletes the blob after its TTL
        log.warning("could not delete the upload of job %s", job_id, exc_info=True)
    return outcome


def run_job(task: PredictTask, job_id: str, payload: dict[str, Any]) -> Outcome:
    """Predict an uploaded video."""

    def work(video: bytes) -> dict[str, Any]:
        job = parse(VideoJob, payload)
        settings = settings_of(task.app)
        limits = DecodeLimits(
            max_bytes=settings.max_upload_bytes, max_duration_s=settings.max_duration_s, max_pixels=settings.max_pixels
        )
        config = job.options.to_pipeline_config(limits)
        return task.predictor(job.options.model).predict(video, name=job.filename, config=config).to_dict()

    return _on_blob(task, job_id, work)


def run_window(task: PredictTask, job_id: str, payload: dict[str, Any]) -> Outcome:
    """Faces and expressions in one live-stream window, tracked on from the stream's last window."""
    from vfer.face.tracking import TrackerState
    from vfer.jobs.framepack import unpack
    from worker.frames import to_gray

    def work(blob: bytes) -> dict[str, Any]:
        job = parse(WindowJob, payload)
        frames = [(f.time_s, to_gray(f, job.first_frame + i)) for i, f in enumerate(unpack(blob))]
        faces, state = task.predictor(job.options.model).predict_window(
            frames, TrackerState.from_dict(job.tracks), config=job.options.to_pipeline_config()
        )
        return {
            "faces": [{"track_id": face.track_id, **window.to_dict()} for face in faces for window in face.windows[:1]],
            "tracks": state.to_dict(),
        }

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


def register(app: Celery) -> None:
    @app.task(name=PREDICT_TASK, **_TASK_OPTIONS)
    def predict(self: PredictTask, job_id: str, payload: dict[str, Any]) -> Outcome:
        return run_job(self, job_id, payload)

    @app.task(name=PREDICT_WINDOW_TASK, **_TASK_OPTIONS)
    def predict_window(self: PredictTask, job_id: str, payload: dict[str, Any]) -> Outcome:
        return run_window(self, job_id, payload)
