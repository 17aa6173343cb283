"""What traces cost: request latency with OpenTelemetry off and on, side by side in one run.

    python -m benchmarks.tracing [--requests 24] [--rounds 2]

Needs Redis on 127.0.0.1:6379 (a database of its own, claimed as the tests claim theirs). The gateway and two workers are started
afresh for each set-up, alternating off / on for `--rounds` rounds (so drift hits both alike);
"on" exports every span over OTLP/HTTP to a local receiver (tests/service/otlp.py), as to a
collector on the same host. Each request uploads a real clip and waits for its result (one
client, one request at a time): p50 and p95 per set-up, and on/off ratios. With tracing off no
instrumentation is installed, so what it costs is vfer's own hooks, each a function call that
returns at once: timed here, in a process where tracing is off, per job and against the p50.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from benchmarks.clips import request_clips
from benchmarks.machine import describe
from benchmarks.servers import running_service
from benchmarks.service import percentile, timed_upload
from tests.service.otlp import OtlpReceiver
from vfer_jobs.tracing import JOB_ID, record_steps, span, tag_job


def latencies(clips: list[bytes], **env: str) -> list[float]:
    """Milliseconds per request through a fresh stack, after two warm-up requests."""
    with running_service(settings=env) as service, httpx.Client(base_url=service.http, timeout=120) as client:
        for clip in clips[:2]:
            client.post("/predict?wait=60", content=clip)
        return [timed_upload(client, clip) for clip in clips]


def off_path_us(repeats: int = 100_000) -> float:
    """Microseconds a job spends in tracing's hooks while tracing is off: the calls one job makes
    (the gateway's enqueue span and job tag; the worker's tag, two spans and the core's steps)."""
    timings = {"probe": 1.0, "decode": 1.0, "faces": 1.0, "decode_and_faces": 2.0, "model": 1.0, "total": 4.0}
    start = time.perf_counter()
    for _ in range(repeats):
        with span("vfer.enqueue", **{JOB_ID: "job"}):
            tag_job("job")
        tag_job("job")
        with span("vfer.read_upload"):
            pass
        with span("vfer.run", **{JOB_ID: "job"}):
            record_steps(0, timings)
    return (time.perf_counter() - start) / repeats * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    clips = request_clips(args.requests)
    print(f"machine: {describe()}")
    receiver = OtlpReceiver()
    off: list[float] = []
    on: list[float] = []
    try:
        for _ in range(args.rounds):
            off += latencies(clips)
            on += latencies(clips, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)  # default batching
    finally:
        receiver.close()
    print(f"spans received: {len(receiver.spans)}")
    print(f"{'tracing':<8} {'p50 ms':>8} {'p95 ms':>8}")
    for name, times in (("off", off), ("on", on)):
        print(f"{name:<8} {statistics.median(times):>8.1f} {percentile(times, 0.95):>8.1f}")
    print(
        f"on/off: p50 {statistics.median(on) / statistics.median(off):.3f}x, p95 {percentile(on, 0.95) / percentile(off, 0.95):.3f}x"
    )
    hooks = off_path_us()
    print(f"off: hooks {hooks:.2f} us a job, {hooks / (statistics.median(off) * 1e3):.6%} of the off p50")


if __name__ == "__main__":
    main()
