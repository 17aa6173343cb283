"""The split topology's inference workers: windows of many jobs classified in one batch.

celery-batches hands the classify messages a worker has taken to one call, once
VFER_INFERENCE_MAX_BATCH of them wait or every VFER_INFERENCE_MAX_WAIT_MS; they are acknowledged
only after the call returns (acks_late), so a worker killed mid-batch leaves them to be
redelivered. Windows are grouped by model; each group is one `predict_clips` call. Every job
whose windows were classified is then finished if it is complete (`worker.split.try_finish`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np
from celery import Celery
from celery_batches import Batches, SimpleRequest

from vfer.errors import VferError, WindowDataError
from vfer_jobs.contract import CLASSIFY_TASK, cancel_flag, failed
from vfer_jobs.tracing import linked_span
from worker.metrics import InferenceMetrics
from worker.split import END, try_finish
from worker.windows import WindowStore

if TYPE_CHECKING:
    from vfer.inference import ClipClassifier

log = logging.getLogger("vfer.worker")
Key = tuple[str, int]  # (job id, window number)


class InferenceTask(Batches):  # type: ignore[misc]
    """Keeps each model loaded once per worker process, and the worker's metrics."""

    _classifiers: dict[str, ClipClassifier] | None = None
    metrics = InferenceMetrics()

    def Strategy(self, task: Batches, app: Celery, consumer: Any) -> Any:
        """Celery builds a worker's strategies anew on every broker (re)connection, but a batch's
        flush timer is started only by the first window that finds none, and the old one does not
        outlive the lost connection: after a Redis failover, windows waited for `flush_every` more
        to come. Each connection starts its own timer, at once if windows are waiting."""
        self._tref = None
        handler = super().Strategy(task, app, consumer)
        if not (self._buffer.empty() and self._pending.empty()):
            self._tref = consumer.timer.call_repeatedly(self.flush_interval, self._do_flush)
        return handler

    def classifier(self, model: str) -> ClipClassifier:
        from vfer.inference import load_classifier

        if self._classifiers is None:
            self._classifiers = {}
        if model not in self._classifiers:
            settings = self.app.vfer_settings
            self._classifiers[model] = load_classifier(
                model, backend=settings.backend, threads=settings.torch_threads, batch=settings.inference_max_batch
            )
        return self._classifiers[model]


def classify_requests(task: InferenceTask, requests: Sequence[SimpleRequest]) -> None:
    """One batch of classify messages: (job id, window number or END, model) each."""
    app: Celery = task.app
    store = WindowStore.of(app)
    by_model: dict[str, list[Key]] = {}
    for request in requests:
        job_id, number, model = request.args
        by_model.setdefault(str(model), []).append((str(job_id), int(number)))
    jobs = sorted({job for keys in by_model.values() for job, _ in keys})
    # Its own trace, linked to each message's (each job's trace): a batch serves many jobs.
    messages = [request.request_dict or {} for request in requests]
    attributes: dict[str, str | int | list[str]] = {"vfer.windows": len(requests), "vfer.job_ids": jobs}
    with linked_span("vfer.inference_batch", messages, **attributes):
        _classify_models(task, store, by_model)


def _classify_models(task: InferenceTask, store: WindowStore, by_model: dict[str, list[Key]]) -> None:
    """Each model's windows in one call; a failure ends only the jobs it touches."""
    app: Celery = task.app
    for model, keys in by_model.items():
        try:
            _classify(task, store, model, keys)
        except VferError as exc:  # a model that does not load, data that does not fit it: those jobs fail
            for job_id in dict.fromkeys(job for job, _ in keys):
                fail(app, store, job_id, exc)
        except Exception:  # the store or the broker faltered: sent again rather than lost
            log.exception("a batch of %d windows failed; queueing them again", len(keys))
            for job_id, number in keys:
                app.send_task(CLASSIFY_TASK, args=[job_id, number, model], queue=app.vfer_settings.inference_queue)


def _classify(task: InferenceTask, store: WindowStore, model: str, keys: list[Key]) -> None:
    from vfer.extraction_codec import unpack_window

    app: Celery = task.app
    classifier = task.classifier(model)
    jobs = list(dict.fromkeys(job for job, _ in keys))
    ended = {job for job in jobs if app.backend.get(cancel_flag(job)) is not None}
    for job_id in ended:  # cancelled: its windows are skipped
        store.drop(job_id)
    ready: list[tuple[Key, dict[Any, np.ndarray]]] = []
    windows = [(job, n) for job, n in keys if n != END and job not in ended]
    for (job_id, number), data in zip(windows, store.windows(windows), strict=True):
        if job_id in ended:
            continue
        try:
            if data is None:
                if store.active(job_id) and not store.classified(job_id, number):
                    raise WindowDataError(f"window {number} of job {job_id} is gone (expired?)")
                continue  # classified before (a redelivered message), or its job has ended
            ready.append(((job_id, number), unpack_window(data, classifier.crops)))
        except WindowDataError as exc:  # that job fails; the batch goes on
            fail(app, store, job_id, exc)
            ended.add(job_id)
    ready = [(key, clips) for key, clips in ready if key[0] not in ended]
    if ready:
        started = time.perf_counter()
        probabilities = classifier.predict_clips(
            {crop: np.stack([c[crop] for _, c in ready]) for crop in classifier.crops}
        )
        seconds = time.perf_counter() - started
        task.metrics.observe(len(ready), seconds, _gpu_bytes())
        per_job: dict[str, dict[int, list[float]]] = {}
        for ((job_id, number), _), probs in zip(ready, probabilities, strict=True):  # (N, 7)
            per_job.setdefault(job_id, {})[number] = probs.tolist()
        for job_id, probs_of in per_job.items():
            store.record(job_id, probs_of, asdict(classifier.info), seconds * 1e3 / len(ready))
    for job_id in dict.fromkeys(job for job, n in keys if n == END and job not in ended):
        if store.active(job_id):  # a job without windows has a model too
            store.record(job_id, {}, asdict(classifier.info), 0.0)
    for job_id in jobs:
        if job_id not in ended:
            try_finish(app, store, job_id)


def fail(app: Celery, store: WindowStore, job_id: str, error: VferError) -> None:
    """End a job with `error` (once), unless it was cancelled."""
    if not store.active(job_id) or not store.claim(job_id):
        return
    if app.backend.get(cancel_flag(job_id)) is None:
        app.backend.store_result(job_id, failed(error.code, str(error)), "SUCCESS")
    store.drop(job_id)


def _gpu_bytes() -> int:
    import torch

    return int(torch.cuda.memory_allocated()) if torch.cuda.is_available() else 0


def register_inference(app: Celery) -> None:
    settings = app.vfer_settings

    @app.task(
        name=CLASSIFY_TASK,
        base=InferenceTask,
        bind=True,
        acks_late=True,
        flush_every=settings.inference_max_batch,
        flush_interval=settings.inference_max_wait_ms / 1e3,
    )
    def classify_window(self: InferenceTask, requests: list[SimpleRequest]) -> None:
        classify_requests(self, requests)
