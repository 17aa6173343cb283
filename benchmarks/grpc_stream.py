"""Live streaming over gRPC: frames per second one stream can push, and window latency.

    python -m benchmarks.grpc_stream [--seconds 10]

Needs Redis on 127.0.0.1:6379 (database 15, flushed). Runs `vfer serve --grpc-port` with two
`vfer worker` processes and streams 640x480 JPEG frames (single_face.mp4 letterboxed, looped):
- push rate: frames sent as fast as the server takes them, per stream;
- latency: frames paced in real time (30 fps); for each window, the time from sending its last
  frame to receiving its result. For 1 and 4 concurrent streams, in one run.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np

from benchmarks.clips import SINGLE_FACE
from benchmarks.machine import describe
from benchmarks.servers import running_service
from service.rpc.client import Client, stream_requests
from vfer.video import VideoReader

BROKER = "redis://127.0.0.1:6379/15"
FPS = 30.0


def jpeg_frames(seconds: float) -> list[bytes]:
    """640x480 JPEGs: the 640x360 clip letterboxed, played forth and back."""
    frames = []
    for frame in VideoReader(SINGLE_FACE).frames():
        canvas = np.zeros((480, 640, 3), np.uint8)
        canvas[60:420] = frame.bgr()
        frames.append(cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
    cycle = frames + frames[-2:0:-1]
    return [cycle[i % len(cycle)] for i in range(int(seconds * FPS))]


def run_stream(target: str, jpegs: list[bytes], realtime: bool, out: dict[str, list[float]]) -> None:
    sent: dict[float, float] = {}

    def frames() -> Iterator[tuple[float, bytes]]:
        for i, data in enumerate(jpegs):
            time_s = i / FPS
            sent[round(time_s, 4)] = time.perf_counter()
            yield time_s, data

    started = time.perf_counter()
    latencies = []
    with Client(target) as client:
        for window in client.stream(stream_requests(frames(), realtime=realtime), timeout=600):
            received = time.perf_counter()
            latencies.append((received - sent[round(window.end_s, 4)]) * 1e3)
    out["fps"].append(len(jpegs) / (max(sent.values()) - started))
    out["latency"].extend(latencies)


def measure(target: str, jpegs: list[bytes], streams: int, realtime: bool) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"fps": [], "latency": []}
    threads = [threading.Thread(target=run_stream, args=(target, jpegs, realtime, out)) for _ in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    jpegs = jpeg_frames(args.seconds)
    print(f"machine: {describe()}")
    with running_service(BROKER) as service:
        measure(service.grpc, jpegs[:90], 2, realtime=False)  # warm both workers
        print(f"{'streams':>7} {'push fps/stream':>16} {'latency p50':>12} {'p90':>8} {'max':>8}  (realtime 30 fps)")
        for streams in (1, 4):
            push = measure(service.grpc, jpegs, streams, realtime=False)
            live = measure(service.grpc, jpegs, streams, realtime=True)
            lat = sorted(live["latency"])
            print(
                f"{streams:>7} {statistics.mean(push['fps']):>16.0f} {statistics.median(lat):>10.0f}ms "
                f"{lat[int(0.9 * (len(lat) - 1))]:>6.0f}ms {lat[-1]:>6.0f}ms"
            )


if __name__ == "__main__":
    main()
