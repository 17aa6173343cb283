"""Face-pipeline speed: default ("fast") path vs paper-faithful mode vs decode-only, side by side.

    python -m benchmarks.pipeline [--repeats 3]

Model time is excluded (see benchmarks.model). Each figure is the median of the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.clips import DATA, SINGLE_FACE, make_long_clip
from benchmarks.machine import describe
from vfer.config import PipelineConfig
from vfer.face.tracking import FaceModels
from vfer.pipeline import extract_faces
from vfer.video import VideoReader


def _median_ms(repeats: int, run: Callable[..., object], *args: object) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(*args)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _decode_all(path: Path) -> int:
    return sum(1 for _ in VideoReader(path).frames())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    models = FaceModels.load()
    with tempfile.TemporaryDirectory() as tmp:
        long_clip = make_long_clip(SINGLE_FACE, 10.0, Path(tmp) / "single_face_10s.mp4")
        clips = {
            "10 s 640x360 H.264 (single_face looped)": long_clip,
            "face_noface.mov 6.4 s 960x540 HEVC": DATA / "video" / "face_noface.mov",
            "grid/bbaf2n.mpg 3 s 360x288 MPEG-1": DATA / "video" / "grid" / "bbaf2n.mpg",
        }
        print(f"machine: {describe()}")
        print(f"{'clip':<42} {'decode-only':>12} {'fast':>9} {'paper':>9} {'fast/decode':>12} {'paper/fast':>11}")
        for name, path in clips.items():
            extract_faces(path, models)  # warm caches
            decode = _median_ms(args.repeats, _decode_all, path)
            fast = _median_ms(args.repeats, extract_faces, path, models, PipelineConfig(mode="fast"))
            paper = _median_ms(args.repeats, extract_faces, path, models, PipelineConfig(mode="paper"))
            print(
                f"{name:<42} {decode:>10.0f}ms {fast:>7.0f}ms {paper:>7.0f}ms {fast / decode:>11.2f}x {paper / fast:>10.2f}x"
            )
        stages = extract_faces(long_clip, models).timings_ms
        print("per-stage ms, default path, 10 s clip:", {k: round(v, 1) for k, v in stages.items()})


if __name__ == "__main__":
    main()
