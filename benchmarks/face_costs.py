"""Where a video's CPU goes, by kind of work: the profile that says what to cut (issue 42).

    python -m benchmarks.face_costs [--seconds 60] [--repeats 3]

`vfer predict`'s path with the default model on the real 640x360 H.264 clip looped to `--seconds`
(benchmarks.clips). Each kind of work (decoding, frame conversion, whole-frame search, search near
a track, landmarks, alignment, box crops, the model) is timed in CPU seconds of the thread that
runs it (`time.thread_time`), so the figures hold on a loaded machine too; beside them the wall
time, the process's CPU time and the pipeline's own `timings_ms`. The last of `--repeats` runs is
reported (the first warms the caches).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.clips import SINGLE_FACE, make_long_clip
from benchmarks.machine import describe
from vfer.face import tracking
from vfer.face.detector import FaceDetector
from vfer.face.landmarks import LandmarkPredictor
from vfer.predict import Predictor
from vfer.video import decode


class Ledger:
    """CPU seconds and calls by kind, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def add(self, kind: str, seconds: float) -> None:
        with self._lock:
            self.seconds[kind] = self.seconds.get(kind, 0.0) + seconds
            self.calls[kind] = self.calls.get(kind, 0) + 1

    def clear(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.calls.clear()


def _timed(ledger: Ledger, kind: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            ledger.add(kind, time.thread_time() - started)

    return wrapper


def _timed_frames(ledger: Ledger, frames: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """The decoder's generator, each frame's decoding timed on the thread that pulls it."""

    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        source = frames(*args, **kwargs)
        while True:
            started = time.thread_time()
            try:
                frame = next(source)
            except StopIteration:
                return
            finally:
                ledger.add("decode", time.thread_time() - started)
            yield frame

    return wrapper


def instrument(ledger: Ledger) -> None:
    """Time every kind of work where the pipeline calls it (this process only)."""
    FaceDetector.detect = _timed(ledger, "whole-frame search", FaceDetector.detect)  # type: ignore[method-assign]
    FaceDetector.detect_near = _timed(ledger, "search near a track", FaceDetector.detect_near)  # type: ignore[method-assign]
    LandmarkPredictor.__call__ = _timed(ledger, "landmarks", LandmarkPredictor.__call__)  # type: ignore[method-assign]
    tracking.align_face = _timed(ledger, "alignment", tracking.align_face)  # type: ignore[attr-defined]
    tracking.brighten_if_dark = _timed(ledger, "gamma", tracking.brighten_if_dark)  # type: ignore[attr-defined]
    tracking.box_crop = _timed(ledger, "box crop", tracking.box_crop)  # type: ignore[attr-defined]
    decode.DecodedFrame.gray = _timed(ledger, "to gray", decode.DecodedFrame.gray)  # type: ignore[method-assign]
    decode.DecodedFrame.bgr = _timed(ledger, "to BGR", decode.DecodedFrame.bgr)  # type: ignore[method-assign]
    decode.VideoReader._decoded = staticmethod(_timed_frames(ledger, decode.VideoReader._decoded))  # type: ignore[method-assign]


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def profile(clip: Path, repeats: int) -> dict[str, Any]:
    """The last of `repeats` predictions of `clip`, by kind of work."""
    ledger = Ledger()
    instrument(ledger)
    predictor = Predictor(backend="auto")  # as `vfer predict` serves it
    model = type(predictor.classifier)
    model.predict_clips = _timed(ledger, "model", model.predict_clips)  # type: ignore[method-assign]
    for _ in range(repeats):
        ledger.clear()
        cpu, started = _cpu_s(), time.perf_counter()
        result = predictor.predict(clip)
        wall, cpu = time.perf_counter() - started, _cpu_s() - cpu
    counted = sum(ledger.seconds.values())
    kinds = {
        kind: {
            "calls": ledger.calls[kind],
            "cpu_ms_per_call": round(seconds / ledger.calls[kind] * 1e3, 3),
            "cpu_s": round(seconds, 2),
            "share_of_cpu": round(seconds / cpu, 3),
        }
        for kind, seconds in sorted(ledger.seconds.items(), key=lambda item: -item[1])
    }
    return {
        "model": predictor.classifier.info.name,
        "wall_s": round(wall, 2),
        "process_cpu_s": round(cpu, 2),
        "uncounted_cpu_s": round(cpu - counted, 2),  # Python glue, queues, windows, threads waking
        "windows": sum(len(face.windows) for face in result.faces),
        "timings_ms": {key: round(value) for key, value in result.timings_ms.items()},
        "kinds": kinds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the looped clip")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip = make_long_clip(SINGLE_FACE, args.seconds, Path(folder) / "clip.mp4")
        report = profile(clip, args.repeats)
    print(json.dumps({"machine": describe(), "clip": f"640x360 H.264, {args.seconds:g} s"} | report, indent=2))


if __name__ == "__main__":
    main()
