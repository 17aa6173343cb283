"""Live streaming over gRPC and the /stream WebSocket, side by side: how fast one stream can
push, window latency, streams per machine.

    python -m benchmarks.live_stream [--seconds 10]

Needs Redis on 127.0.0.1:6379 (a database of its own, claimed as the tests claim theirs). Streams 640x480 JPEG frames
(single_face.mp4 letterboxed, played forth and back) to `vfer serve --grpc-port`:
- push rate: frames sent as fast as the server takes them, per stream;
- window latency, frames paced in real time at 30 fps: for each window, the time from when its
  last frame was due (as a live camera sees it: the stream's start plus the frame's time, however
  late the client managed to send it) to receiving its result;
over both doors (the same stream code behind each), with Redis and two `vfer worker` processes
for 1 and 4 concurrent streams, and for the embedded default (`vfer serve` alone) with 1 stream;
then how many concurrent real-time WebSocket streams the two workers hold with a window p95 under
one second. All in one run.
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
from benchmarks.servers import Running, running_embedded, running_service
from vfer.errors import VferError
from vfer.video import VideoReader
from vfer_client.grpc_client import Client, paced, stream_requests
from vfer_client.ws_client import ws_windows

FPS = 30.0
HOLD_P95_MS = 1000.0
TRANSPORTS = ("grpc", "ws")


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


def window_ends(
    server: Running, transport: str, frames: Iterator[tuple[float, bytes]], realtime: bool
) -> Iterator[float]:
    """Each window's end time as it arrives, over gRPC or the WebSocket."""
    if transport == "grpc":
        with Client(server.grpc) as client:
            for window in client.stream(stream_requests(frames, realtime=realtime), timeout=600):
                yield window.end_s
    else:
        url = server.http.replace("http://", "ws://") + "/stream"
        for body in ws_windows(url, paced(frames, realtime), format="jpeg"):
            yield body["end_s"]


def run_stream(
    server: Running, transport: str, jpegs: list[bytes], realtime: bool, out: dict[str, list[float]]
) -> None:
    started: list[float] = []

    def frames() -> Iterator[tuple[float, bytes]]:
        for i, data in enumerate(jpegs):
            if not started:
                started.append(time.perf_counter())
            yield i / FPS, data

    latencies = []
    try:
        for end_s in window_ends(server, transport, frames(), realtime):
            due = started[0] + end_s  # when a camera would have delivered the last frame
            latencies.append((time.perf_counter() - due) * 1e3)
    except (grpc.RpcError, VferError, OSError):
        out["errors"].append(1.0)
        return
    out["fps"].append(len(jpegs) / (time.perf_counter() - started[0]))
    out["latency"].extend(latencies)


def measure(
    server: Running, transport: str, jpegs: list[bytes], streams: int, realtime: bool
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"fps": [], "latency": [], "errors": []}
    args = (server, transport, jpegs, realtime, out)
    threads = [threading.Thread(target=run_stream, args=args) for _ in range(streams)]
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
    parser.add_argument("--max-streams", type=int, default=24)
    args = parser.parse_args()
    jpegs = jpeg_frames(args.seconds)
    print(f"machine: {describe()}")
    print(
        f"{'setup (latency from when due, ms)':<34} {'push fps':>10} {'p50':>8} {'p95':>8} {'max':>8} {'windows':>8} {'errors':>7}"
    )
    with running_service() as service:
        for transport in TRANSPORTS:
            measure(service, transport, jpegs[:90], 2, realtime=False)  # warm both workers
        for streams in (1, 4):
            for transport in TRANSPORTS:  # side by side, alternating
                push = measure(service, transport, jpegs, streams, realtime=False)
                live = measure(service, transport, jpegs, streams, realtime=True)
                report(f"Redis + 2 workers, {transport}, {streams}", live, push)
        held = 0
        for streams in range(2, args.max_streams + 1, 2):
            live = measure(service, "ws", jpegs, streams, realtime=True)
            report(f"Redis + 2 workers, ws, {streams}", live)
            if live["errors"] or percentile(live["latency"], 0.95) > HOLD_P95_MS:
                break
            held = streams
        print(f"real-time 30 fps WebSocket streams 2 workers hold with window p95 < {HOLD_P95_MS:.0f} ms: {held}")
    with running_embedded() as embedded:
        measure(embedded, "grpc", jpegs[:90], 1, realtime=False)  # warm the embedded worker
        for transport in TRANSPORTS:
            report(
                f"embedded (vfer serve alone), {transport}, 1", measure(embedded, transport, jpegs, 1, realtime=True)
            )


if __name__ == "__main__":
    main()
