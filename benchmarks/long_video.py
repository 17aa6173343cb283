"""Long videos: time and peak memory against the length of the video, side by side in one run.

    python -m benchmarks.long_video [--lengths 60 600]

A real 640x360 H.264 clip (single_face.mp4) looped to each length, and the same scaled to
960x540 in HEVC, and two people side by side. Each measurement runs in a fresh process (so its
peak RSS is its own): decoding alone (every frame, PyAV's fastest plain decode, nothing else),
then `Predictor.predict` with the default model on the default backend (auto: ONNX Runtime on a
CPU) and, for the first clip, on eager PyTorch. Decoding alone and the default backend run
`--repeats` times, alternating, and report their medians (a shared machine's speed drifts by
10 % from one run to the next). Reported: wall time, the pipeline's own timings, peak RSS, the
ratio to decoding alone, and how cost grows from the shortest clip to the longest.

`--against DIR` measures another checkout of the project beside this one (e.g. the commit before
a change, from `git worktree add`): its default-backend runs alternate with this tree's, each in
a fresh process on the same clip, and both rows are reported with their CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.clips import SINGLE_FACE, make_long_clip, make_two_face_clip
from benchmarks.machine import describe

_DECODE = """
import sys, time
from vfer.video import VideoReader
started = time.perf_counter()
for frame in VideoReader(sys.argv[1]).frames():
    pass
print(time.perf_counter() - started)
"""

_PREDICT = """
import json, sys, time
from vfer.predict import Predictor
predictor = Predictor(backend=sys.argv[2])
started = time.perf_counter()
result = predictor.predict(sys.argv[1])
print(json.dumps({"wall_s": time.perf_counter() - started, "timings_ms": result.timings_ms,
                  "windows": sum(len(face.windows) for face in result.faces)}))
"""


def measure(code: str, *args: str, tree: Path | None = None) -> tuple[str, float, float]:
    """The script's last output line, and the peak RSS (GB) and CPU seconds of that process alone
    (wait4); `tree`: the checkout whose `vfer` it imports (this one by default). The process runs
    in that checkout: `python -c` puts its working directory ahead of PYTHONPATH, so from here
    it would import this checkout's `vfer` whatever PYTHONPATH says."""
    env = os.environ | ({"PYTHONPATH": str(tree)} if tree is not None else {})
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, env=env, cwd=tree)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit(f"the measured run failed with status {process.returncode}")
        out.seek(0)
        cpu_s = usage.ru_utime + usage.ru_stime
        return out.read().strip().splitlines()[-1], usage.ru_maxrss / 1024 / 1024, cpu_s


def _predict(clip: str, backend: str, tree: Path | None = None) -> tuple[dict[str, Any], float]:
    line, peak_gb, cpu_s = measure(_PREDICT, clip, backend, tree=tree)
    return json.loads(line) | {"cpu_s": cpu_s}, peak_gb


def _row(
    name: str, seconds: float, backend: str, decode_s: float, runs: list[tuple[dict[str, Any], float]]
) -> dict[str, Any]:
    """The run of median wall time among `runs`, against the median decode-only time."""
    run = sorted((r for r, _ in runs), key=lambda r: r["wall_s"])[len(runs) // 2]
    return {
        "clip": name,
        "clip_s": seconds,
        "backend": backend,
        "runs": len(runs),
        "wall_s": round(run["wall_s"], 1),
        "cpu_s": round(run["cpu_s"], 1),
        "decode_only_s": round(decode_s, 1),
        "x_decode": round(run["wall_s"] / decode_s, 2),
        "decode_and_faces_s": round(run["timings_ms"]["decode_and_faces"] / 1e3, 1),
        "model_busy_s": round(run["timings_ms"]["model"] / 1e3, 1),
        "windows": run["windows"],
        "peak_rss_gb": round(max(peak for _, peak in runs), 2),
    }


CLIPS: dict[str, Callable[[float, Path], Path]] = {
    "640x360 H.264": lambda s, out: make_long_clip(SINGLE_FACE, s, out),
    "960x540 HEVC": lambda s, out: make_long_clip(SINGLE_FACE, s, out, size=(960, 540), codec="libx265"),
    "two faces 1000x360": make_two_face_clip,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[60.0, 600.0])
    parser.add_argument("--variant-lengths", type=float, nargs="+", default=[60.0, 300.0])
    parser.add_argument("--clips", nargs="+", choices=list(CLIPS), default=list(CLIPS))
    parser.add_argument("--repeats", type=int, default=3, help="runs of decoding alone and of the default backend")
    parser.add_argument("--against", type=Path, help="another checkout, measured beside this one")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.clips:
            make = CLIPS[name]
            main_clip = name == "640x360 H.264"
            for seconds in sorted(args.lengths if main_clip else args.variant_lengths):
                clip = str(make(seconds, Path(folder) / f"{len(rows)}.mp4"))
                decodes, runs, others = [], [], []
                for _ in range(args.repeats):  # alternating, so a drift in the machine's speed hits all
                    decodes.append(float(measure(_DECODE, clip)[0]))
                    runs.append(_predict(clip, "auto"))
                    if args.against is not None:
                        others.append(_predict(clip, "auto", args.against))
                decode_s = statistics.median(decodes)
                rows.append(_row(name, seconds, "auto", decode_s, runs))
                if others:
                    rows.append(_row(name, seconds, "auto", decode_s, others) | {"tree": str(args.against)})
                if main_clip:
                    rows.append(_row(name, seconds, "torch", decode_s, [_predict(clip, "torch")]))
                Path(clip).unlink()
    growth = {}
    for name, backend in {(r["clip"], r["backend"]) for r in rows}:
        by_length = sorted(
            (r for r in rows if r["clip"] == name and r["backend"] == backend and "tree" not in r),
            key=lambda r: r["clip_s"],
        )
        key = f"{name}, {backend}: {by_length[-1]['clip_s']:.0f} s over {by_length[0]['clip_s']:.0f} s"
        growth[key] = round(by_length[-1]["wall_s"] / by_length[0]["wall_s"], 2)
    print(json.dumps({"machine": describe(), "runs": rows, "cost_growth": growth}, indent=2))


if __name__ == "__main__":
    main()
