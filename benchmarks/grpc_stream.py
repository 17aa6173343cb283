"""Live streaming over gRPC: how fast one stream can push, window latency, streams per machine.

    python -m benchmarks.grpc_stream [--seconds 10]

Needs Redis on 127.0.0.1:6379 (database 15, flushed). Streams 640x480 JPEG frames
(single_face.mp4 letterboxed, played forth and back) to `vfer serve --grpc-port`:
- push rate: frames sent as fast as the server takes them, per stream;
- window latency, frames paced in real time at 30 fps: for each window, the time from when its
  last frame was due (as a live camera sees it: the stream's start plus the frame's time, however
  late the client managed to send it) to receiving its result;
with Redis and two `vfer worker` processes for 1 and 4 concurrent streams, and for the embedded
default (`vfer serve` alone) with 1 stream; then how many concurrent real-time streams the two
workers hold with a window p95 under one second. All in one run.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Iterator

import cv2
import grpc
import numpy as np

from benchmarks.clips import SINGLE_FACE
from benchmarks.machine import describe
from benchmarks.servers import running_embedded, running_service
from service.rpc.client import Client, stream_requests
from vfer.video import VideoReader

BROKER = "redis://127.0.0.1:6379/15"
FPS = 30.0
HOLD_P95_MS = 1000.0


def jpeg_frames(seconds: float) -> list[bytes]:
    """640x480 JPEGs: the 640x360 clip letterboxed, played forth and back."""
    frames = []
    for frame in VideoReader(SINGLE_FACE).frames():
        canvas = np.zeros((480, 640, 3), np.uint8)
        canvas[60:420] = frame.bgr()
        frames.append(cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
    cycle = frames + frames[-2:0:-1]
    return [cycle[i % len(cycle)] for i in range(int(seconds * FPS))]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_stream(target: str, jpegs: list[bytes], realtime: bool, out: dict[str, list[float]]) -> None:
    started: list[float] = []

    def frames() -> Iterator[tuple[float, bytes]]:
        for i, data in enumerate(jpegs):
            if not started:
                started.append(time.perf_counter())
            yield i / FPS, data

    latencies = []
    try:
        with Client(target) as client:
            for window in client.stream(stream_requests(frames(), realtime=realtime), timeout=600):
                due = started[0] + window.end_s  # when a camera would have delivered the last frame
                latencies.append((time.perf_counter() - due) * 1e3)
    except grpc.RpcError as exc:
        out["errors"].append(float(exc.code().value[0]))
        return
    out["fps"].append(len(jpegs) / (time.perf_counter() - started[0]))
    out["latency"].extend(latencies)


def measure(target: str, jpegs: list[bytes], streams: int, realtime: bool) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"fps": [], "latency": [], "errors": []}
    threads = [threading.Thread(target=run_stream, args=(target, jpegs, realtime, out)) for _ in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def report(name: str, live: dict[str, list[float]], push: dict[str, list[float]] | None = None) -> None:
    lat = live["latency"]
    fps = f"{statistics.mean(push['fps']):>10.0f}" if push and push["fps"] else f"{'-':>10}"
    print(
        f"{name:<34} {fps} {statistics.median(lat):>8.0f} {percentile(lat, 0.95):>8.0f} {max(lat):>8.0f}"
        f" {len(lat):>8} {len(live['errors']):>7}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-streams", type=int, default=12)
    args = parser.parse_args()
    jpegs = jpeg_frames(args.seconds)
    print(f"machine: {describe()}")
    print(
        f"{'setup (latency from when due, ms)':<34} {'push fps':>10} {'p50':>8} {'p95':>8} {'max':>8} {'windows':>8} {'errors':>7}"
    )
    with running_service(BROKER) as service:
        measure(service.grpc, jpegs[:90], 2, realtime=False)  # warm both workers
        held = 0
        for streams in (1, 4, *range(6, args.max_streams + 1, 2)):
            push = measure(service.grpc, jpegs, streams, realtime=False) if streams in (1, 4) else None
            live = measure(service.grpc, jpegs, streams, realtime=True)
            report(f"Redis + 2 workers, {streams} stream(s)", live, push)
            if live["errors"] or percentile(live["latency"], 0.95) > HOLD_P95_MS:
                break
            held = streams
        print(f"real-time 30 fps streams that 2 workers hold with window p95 < {HOLD_P95_MS:.0f} ms: {held}")
    with running_embedded() as embedded:
        measure(embedded.grpc, jpegs[:90], 1, realtime=False)  # warm the embedded worker
        report("embedded (vfer serve alone), 1", measure(embedded.grpc, jpegs, 1, realtime=True))


if __name__ == "__main__":
    main()
