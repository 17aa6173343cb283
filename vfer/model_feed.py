"""The model on its own thread, fed windows while the video is still being decoded.

The face pipeline hands over each window as soon as it is final (`pipeline.WindowFeed`); this
thread classifies them in batches filled across faces and windows, so the model's time hides
behind decoding and face work instead of adding to it. The queue is bounded: a model slower than
the pipeline slows the pipeline rather than piling up crops, so memory does not grow with the
video.
"""

from __future__ import annotations

import queue
import threading
import time
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from vfer.inference import BATCH, ClipClassifier, classify_windows
from vfer.pipeline import FaceWindow

Probabilities = npt.NDArray[np.float32]  # (7,) for one window
_END = object()


class ModelFeed:
    def __init__(self, classifier: ClipClassifier) -> None:
        self._classifier = classifier
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=4 * BATCH)
        self._probabilities: dict[int, Probabilities] = {}  # id(window) -> its probabilities
        self._error: BaseException | None = None
        self.busy_s = 0.0  # time spent in the model
        self._thread = threading.Thread(target=self._run, name="vfer-model", daemon=True)

    def __enter__(self) -> ModelFeed:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop()

    def submit(self, window: FaceWindow) -> None:
        """Queue a window (blocks while the queue is full); raises the model thread's error."""
        if self._error is not None:
            raise self._error
        self._queue.put(window)

    def results(self) -> dict[int, Probabilities]:
        """Every submitted window's probabilities, by id(window), once all are classified."""
        self._stop()
        if self._error is not None:
            raise self._error
        return self._probabilities

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_END)
            self._thread.join()

    def _run(self) -> None:
        """Batches of exactly BATCH windows in the order they came (then the rest): the same video
        gives the same batches, so the same numbers, however the threads were scheduled."""
        batch: list[FaceWindow] = []
        while (item := self._queue.get()) is not _END:
            batch.append(item)
            if len(batch) == BATCH:
                self._classify(batch)
                batch = []
        if batch:
            self._classify(batch)

    def _classify(self, windows: list[FaceWindow]) -> None:
        if self._error is not None:
            return  # the caller hears of the error; what is still queued is only drained
        started = time.perf_counter()
        try:
            probabilities = classify_windows(self._classifier, windows)
        except BaseException as exc:  # re-raised to the caller; the thread goes on draining the queue
            self._error = exc
            return
        finally:
            self.busy_s += time.perf_counter() - started
        for window, probs in zip(windows, probabilities, strict=True):
            self._probabilities[id(window)] = probs
            window.clips = {}  # its crops are not needed again: memory stays flat over a long video
