"""Serving overhead and overload: HTTP + Redis + 2 worker processes vs the in-process core.

    python -m benchmarks.service [--requests 24] [--concurrency 2]

Needs Redis on 127.0.0.1:6379 (a database of its own, claimed as the tests claim theirs). Side by side in one run:
1. the same clips through `Predictor.predict` in this process, one after another, with the
   workers' model set-up (backend auto, one model thread);
2. the same clips as concurrent HTTP uploads (`wait` for the result) to `vfer serve` with two
   `vfer worker` processes: latency p50/p99, throughput, and the ratio to in-process;
3. overload: 4x more uploads at once than the queue holds plus the workers take, with wait=0:
   every answer must be 202 or 429, and every accepted job must finish.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from benchmarks.clips import request_clips
from benchmarks.machine import describe
from benchmarks.servers import running_service
from tests.service.helpers import wait_until

MAX_QUEUE = 4


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_upload(client: httpx.Client, clip: bytes) -> float:
    """Milliseconds from sending an upload to its result (waiting up to a minute for it)."""
    start = time.perf_counter()
    response = client.post("/predict?wait=60", content=clip)
    assert response.status_code == 200, response.text
    return (time.perf_counter() - start) * 1e3


def in_process(clips: list[bytes]) -> list[float]:
    from vfer.predict import Predictor

    predictor = Predictor(backend="auto", threads=1)  # what each worker runs (VFER_TORCH_THREADS=1)
    predictor.predict(clips[0])  # warm-up, as the workers are warmed up below
    times = []
    for clip in clips:
        start = time.perf_counter()
        predictor.predict(clip)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=24)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    clips = request_clips(args.requests)
    print(f"machine: {describe()}")

    local = in_process(clips)
    with (
        running_service(settings={"VFER_MAX_QUEUE": str(MAX_QUEUE)}) as service,
        httpx.Client(base_url=service.http, timeout=120) as client,
    ):
        with ThreadPoolExecutor(2) as pool:  # warm both workers' models
            list(pool.map(lambda c: client.post("/predict?wait=60", content=c), clips[:4]))

        def timed(clip: bytes) -> float:
            return timed_upload(client, clip)

        one_by_one = [timed(clip) for clip in clips]
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            served = list(pool.map(timed, clips))
        served_wall = time.perf_counter() - started

        overload = 4 * (MAX_QUEUE + service.workers)
        with ThreadPoolExecutor(16) as pool:
            answers = list(
                pool.map(lambda i: client.post("/predict?wait=0", content=clips[i % len(clips)]), range(overload))
            )
        codes = Counter(a.status_code for a in answers)
        accepted = [a.json()["job_id"] for a in answers if a.status_code == 202]

        def all_finished() -> bool:
            return all(client.get(f"/jobs/{job}").json()["status"] == "done" for job in accepted)

        wait_until(all_finished, 300, "every accepted job")

    local_wall = sum(local) / 1e3
    print(f"{'path':<34} {'p50 ms':>8} {'p99 ms':>8} {'clips/s':>8}")
    print(
        f"{'in-process core, sequential':<34} {statistics.median(local):>8.0f} {percentile(local, 0.99):>8.0f} {len(local) / local_wall:>8.2f}"
    )
    one_wall = sum(one_by_one) / 1e3
    print(
        f"{'HTTP + Redis + 2 workers, 1 client':<34} {statistics.median(one_by_one):>8.0f} "
        f"{percentile(one_by_one, 0.99):>8.0f} {len(one_by_one) / one_wall:>8.2f}"
    )
    print(
        f"{'HTTP + Redis + 2 workers, ' + str(args.concurrency) + ' clients':<34} {statistics.median(served):>8.0f} "
        f"{percentile(served, 0.99):>8.0f} {len(served) / served_wall:>8.2f}"
    )
    print(f"p50 ratio served (1 client) / in-process: {statistics.median(one_by_one) / statistics.median(local):.2f}x")
    print(
        f"overload: {overload} uploads at once, queue limit {MAX_QUEUE}: answers {dict(codes)}, "
        f"{len(accepted)} accepted, all finished, 5xx: {sum(v for k, v in codes.items() if k >= 500)}"
    )


if __name__ == "__main__":
    main()
