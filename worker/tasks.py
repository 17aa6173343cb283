"""The prediction task: fetch the upload, run the core, return the result. Thin on purpose.

User errors come back as a normal result `{"ok": false, "error": {code, message}}` (never
retried, never a crash); only transient faults (the blob volume hiccuping) are retried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery import Celery, Task

from service.blobs import BlobNotFoundError, BlobStore
from service.settings import Settings
from vfer.errors import VferError
from worker.celery_app import PREDICT_TASK, PREDICT_WINDOW_TASK

if TYPE_CHECKING:
    from vfer.predict import Predictor


class PredictTask(Task):  # type: ignore[misc]
    """Keeps models loaded per worker process: built on the first job, reused after."""

    _predictors: dict[str, Predictor] | None = None

    def predictor(self, model: str) -> Predictor:
        from vfer.predict import Predictor

        if self._predictors is None:
            self._predictors = {}
            threads = settings_of(self.app).torch_threads
            if threads:
                import torch

                torch.set_num_threads(threads)
        if model not in self._predictors:
            others = next(iter(self._predictors.values()), None)
            face_models = others.face_models if others else None
            backend = settings_of(self.app).backend
            self._predictors[model] = Predictor(model, backend=backend, face_models=face_models)
        return self._predictors[model]


def settings_of(app: Celery) -> Settings:
    """The settings the app was created with (see create_celery)."""
    settings: Settings = app.vfer_settings
    return settings


def _on_upload(task: PredictTask, job_id: str, work: Callable[[bytes, Settings], dict[str, Any]]) -> dict[str, Any]:
    """Run `work` on the upload stored under `job_id`; user errors become results; the upload is
    deleted when the job ends (a transient OSError propagates, to be retried with the upload)."""
    settings = settings_of(task.app)
    blobs = BlobStore(settings.blob_dir, settings.blob_ttl_s)
    try:
        outcome: dict[str, Any] = {"ok": True, "result": work(blobs.read(job_id), settings)}
    except VferError as exc:
        outcome = {"ok": False, "error": {"code": exc.code, "message": str(exc)}}
    except BlobNotFoundError as exc:
        outcome = {"ok": False, "error": {"code": "upload_expired", "message": str(exc)}}
    blobs.delete(job_id)
    return outcome


def run_job(task: PredictTask, job_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """Predict an uploaded video."""
    from vfer.config import DecodeLimits, PipelineConfig

    def work(video: bytes, settings: Settings) -> dict[str, Any]:
        config = PipelineConfig(
            mode=options.get("mode", "fast"),
            window_s=float(options.get("window_s", 2.0)),
            stride_s=float(options.get("stride_s", 1.0)),
            limits=DecodeLimits(
                max_bytes=settings.max_upload_bytes,
                max_duration_s=settings.max_duration_s,
                max_pixels=settings.max_pixels,
            ),
        )
        predictor = task.predictor(options.get("model") or settings.model)
        return predictor.predict(video, name=options.get("filename"), config=config).to_dict()

    return _on_upload(task, job_id, work)


def run_window(task: PredictTask, job_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """Faces and expressions in one live-stream window (8 packed frames stored under `job_id`)."""
    from service.framepack import unpack
    from vfer.config import PipelineConfig
    from worker.frames import to_gray

    def work(blob: bytes, settings: Settings) -> dict[str, Any]:
        first = int(options.get("first_frame", 0))
        frames = [(f.time_s, to_gray(f, first + i)) for i, f in enumerate(unpack(blob))]
        config = PipelineConfig(
            window_s=float(options.get("window_s", 2.0)), stride_s=float(options.get("stride_s", 1.0))
        )
        faces = task.predictor(options.get("model") or settings.model).predict_frames(frames, config=config)
        return {
            "faces": [
                {"box": w.box, "distribution": w.distribution, "label": w.label}
                for face in faces
                for w in face.windows[:1]
            ]
        }

    return _on_upload(task, job_id, work)


# Retried only for transient faults (the blob volume), with exponential backoff.
_TASK_OPTIONS: dict[str, Any] = {
    "base": PredictTask,
    "bind": True,
    "autoretry_for": (OSError,),
    "retry_backoff": True,
    "retry_backoff_max": 30,
    "max_retries": 3,
}


def register(app: Celery) -> None:
    @app.task(name=PREDICT_TASK, **_TASK_OPTIONS)
    def predict(self: PredictTask, job_id: str, options: dict[str, Any]) -> dict[str, Any]:
        return run_job(self, job_id, options)

    @app.task(name=PREDICT_WINDOW_TASK, **_TASK_OPTIONS)
    def predict_window(self: PredictTask, job_id: str, options: dict[str, Any]) -> dict[str, Any]:
        return run_window(self, job_id, options)
