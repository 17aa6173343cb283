"""The split topology's ends of a job: a job worker finds the faces and queues each window as it
is cut; whichever inference worker classifies the last one assembles the job's outcome.

The faces side stores a window's crops (`vfer.extraction_codec.pack_window`) and sends its number on the
inference queue; once the video is done it stores the layout and sends an end message (number
END), so a job with no window, or whose windows were all classified before the layout was
stored, is still finished, by an inference worker, with that worker's model description.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from celery import Celery

from vfer.config import CropSpec
from vfer.result import FacePrediction
from vfer_jobs.broker import inference_backlog
from vfer_jobs.contract import CLASSIFY_TASK, LIVE_PRIORITY, VIDEO_PRIORITY, Outcome, cancel_flag, succeeded
from vfer_jobs.tracing import JOB_ID, record_steps, span
from worker.deliveries import KOMBU_BLIPS, ride_out
from worker.windows import JobState, WindowStore

if TYPE_CHECKING:
    from vfer.config import PipelineConfig
    from vfer.deadline import Deadline
    from vfer.pipeline import Extraction, FaceClips, FaceWindow

END = -1  # the number of a job's end message
ROOM_POLL_S = 0.1
log = logging.getLogger("vfer.worker.split")


def wait_for_room(app: Celery, deadline: Deadline) -> None:
    """Backpressure: hold the faces pipeline while the inference backlog is at its bound (the
    job's time limit and cancellation still apply)."""
    settings = app.vfer_settings
    bound, queue = settings.inference_max_pending, settings.inference_queue

    def backlog() -> int:
        return ride_out(lambda: inference_backlog(app, queue), errors=KOMBU_BLIPS)

    if backlog() < bound:
        return
    log.info("the inference backlog is at its bound (%d windows): pausing", bound)
    while backlog() >= bound:
        deadline.check()
        time.sleep(ROOM_POLL_S)


class WindowSender:
    """The face pipeline's window sink: once the inference backlog has room, stores each window's
    crops, then queues its number at its job's priority (a live window's go before a video's)."""

    def __init__(
        self,
        app: Celery,
        store: WindowStore,
        job_id: str,
        model: str,
        crops: Sequence[CropSpec],
        deadline: Deadline,
        *,
        priority: int,
    ) -> None:
        self.app, self.store, self.job_id, self.model, self.crops = app, store, job_id, model, tuple(crops)
        self.deadline, self.priority = deadline, priority
        self.numbers: dict[int, int] = {}  # id(window) -> its number

    def __call__(self, window: FaceWindow) -> None:
        from vfer.extraction_codec import pack_window

        wait_for_room(self.app, self.deadline)
        number = len(self.numbers)
        self.numbers[id(window)] = number
        self.store.put_window(self.job_id, number, pack_window(window.clips, self.crops))
        window.clips = {}  # on their way: the faces worker's memory stays flat
        self._send(number)

    def end(self, layout: dict[str, Any]) -> None:
        """Every window is queued: store what the faces worker found, and send the end message."""
        self.store.describe(self.job_id, layout, len(self.numbers))
        self._send(END)

    def _send(self, number: int) -> None:
        queue = self.app.vfer_settings.inference_queue
        # A message sent twice (its first send's answer lost in a failover) finds its window classified.
        ride_out(
            lambda: self.app.send_task(
                CLASSIFY_TASK, args=[self.job_id, number, self.model], queue=queue, priority=self.priority
            ),
            errors=KOMBU_BLIPS,
        )


def queue_video(
    app: Celery,
    job_id: str,
    model: str,
    config: PipelineConfig,
    name: str,
    extract: Callable[[Callable[[FaceWindow], None]], Extraction],
    deadline: Deadline,
) -> None:
    """A video's faces task: `extract` runs the face pipeline with the sink it is given; each
    window goes to the inference queue as it is cut, then the layout and the end message."""
    from vfer.extraction_codec import extraction_to_dict
    from vfer.predict import result_options

    store = WindowStore.of(app)
    store.begin(job_id)
    sender = WindowSender(app, store, job_id, model, config.crops, deadline, priority=VIDEO_PRIORITY)
    started = time.time_ns()
    try:
        extraction = extract(sender)
    except BaseException:
        store.drop(job_id, len(sender.numbers))  # its outcome is an error: queued windows are skipped
        raise
    record_steps(started, extraction.timings_ms)
    options = result_options(config)
    layout = {
        "kind": "video",
        "name": name,
        "options": options,
        "extraction": extraction_to_dict(extraction, sender.numbers),
    }
    sender.end(layout)


def queue_window(
    app: Celery,
    job_id: str,
    model: str,
    crops: Sequence[CropSpec],
    faces: list[FaceClips],
    tracks: dict[str, Any],
    deadline: Deadline,
) -> None:
    """A live-stream window's faces task: its faces' windows to the inference queue, then the end."""
    from vfer.extraction_codec import faces_to_dict

    store = WindowStore.of(app)
    store.begin(job_id)
    sender = WindowSender(app, store, job_id, model, crops, deadline, priority=LIVE_PRIORITY)
    for window in (w for face in faces for w in face.windows):
        sender(window)
    sender.end({"kind": "window", "faces": faces_to_dict(faces, sender.numbers), "tracks": tracks})


def window_result(faces: list[FacePrediction], tracks: dict[str, Any]) -> dict[str, Any]:
    """A live-stream window's result: each face's window, and the tracker state for the next."""
    return {
        "faces": [
            {"track_id": face.track_id, **window.to_model().model_dump(mode="json")}
            for face in faces
            for window in face.windows[:1]
        ],
        "tracks": tracks,
    }


def try_finish(app: Celery, store: WindowStore, job_id: str) -> bool:
    """Store the job's outcome if all its windows are classified and nobody else is storing it."""
    state = store.state(job_id)
    if state is None or state.layout is None or not state.complete or not store.claim(job_id):
        return False
    with span("vfer.store_result", **{JOB_ID: job_id}):
        outcome = _outcome(state)
        if app.backend.get(cancel_flag(job_id)) is None:  # a cancelled job stays cancelled
            app.backend.store_result(job_id, outcome, "SUCCESS")
        store.drop(job_id)
    return True


def _outcome(state: JobState) -> Outcome:
    """The job's result from its layout and probabilities (the core loads here, not at import)."""
    from vfer.extraction_codec import extraction_from_dict, faces_from_dict
    from vfer.inference import ModelInfo
    from vfer.predict import assemble_faces, prediction_result

    layout = state.layout
    assert layout is not None and state.model is not None
    by_number = {n: np.asarray(p, dtype=np.float32) for n, p in state.probabilities.items()}
    if layout["kind"] == "window":
        faces, numbers = faces_from_dict(layout["faces"])
        predictions = assemble_faces(faces, {key: by_number[n] for key, n in numbers.items()})
        return succeeded(window_result(predictions, layout["tracks"]))
    extraction, numbers = extraction_from_dict(layout["extraction"])
    timings = dict(extraction.timings_ms)
    timings["model"] = state.model_ms  # this job's share of the inference workers' batches
    timings["total"] = (time.time() - state.started) * 1e3  # from the faces worker's start, queues included
    result = prediction_result(
        extraction,
        assemble_faces(extraction.faces, {key: by_number[n] for key, n in numbers.items()}),
        name=layout["name"],
        model=ModelInfo(**state.model),
        options=layout["options"],
        timings_ms=timings,
    )
    return succeeded(result.to_dict())
