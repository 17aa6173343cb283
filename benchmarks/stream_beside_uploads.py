"""A live stream's window latency while uploaded videos wait, against the same stream alone.

    python -m benchmarks.stream_beside_uploads [--uploads 16] [--seconds 20] [--stream-seconds 10]

Needs Redis on 127.0.0.1:6379 (a database of its own, claimed as the tests claim theirs). The gateway, Redis and two `vfer worker`
processes; one 30 fps gRPC stream of 640x480 JPEGs paced in real time, each window's latency
counted from when its last frame was due (as a camera sees it): first alone, then with `--uploads`
uploads of single_face.mp4 looped to `--seconds` sent just before it, so the queue is full of
videos while the camera streams; and how long the uploads took to be done, beside the stream.
All in one run; read the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.clips import SINGLE_FACE, make_long_clip
from benchmarks.live_stream import jpeg_frames, measure, percentile
from benchmarks.machine import describe
from benchmarks.servers import running_service, upload_all, wait_all_done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each uploaded clip")
    parser.add_argument("--stream-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip = make_long_clip(SINGLE_FACE, args.seconds, Path(folder) / "clip.mp4").read_bytes()
    jpegs = jpeg_frames(args.stream_seconds)
    print(f"machine: {describe()}")
    with running_service() as service:
        measure(service, "grpc", jpegs[:90], 2, realtime=False)  # warm both workers
        wait_all_done(service.http, upload_all(service.http, clip, 2))
        alone = measure(service, "grpc", jpegs, 1, realtime=True)
        started = time.perf_counter()
        urls = upload_all(service.http, clip, args.uploads)
        beside = measure(service, "grpc", jpegs, 1, realtime=True)
        wait_all_done(service.http, urls)
        uploads_s = time.perf_counter() - started
    print(f"{'stream (latency from when due, ms)':<40} {'p50':>8} {'p95':>8} {'max':>8} {'windows':>8} {'errors':>7}")
    for name, live in (("alone", alone), (f"beside {args.uploads} waiting uploads", beside)):
        lat = live["latency"] or [float("nan")]
        print(
            f"{name:<40} {statistics.median(lat):>8.0f} {percentile(lat, 0.95):>8.0f} {max(lat):>8.0f}"
            f" {len(live['latency']):>8} {len(live['errors']):>7}"
        )
    if alone["latency"] and beside["latency"]:
        p50 = statistics.median(beside["latency"]) / statistics.median(alone["latency"])
        p95 = percentile(beside["latency"], 0.95) / percentile(alone["latency"], 0.95)
        print(f"beside uploads / alone: p50 {p50:.2f}x, p95 {p95:.2f}x")
    print(
        f"{args.uploads} uploads of {args.seconds:.0f} s done in {uploads_s:.1f} s ({args.uploads / uploads_s:.2f} clips/s)"
    )


if __name__ == "__main__":
    main()
