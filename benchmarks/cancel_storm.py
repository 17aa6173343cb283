"""Cancelling running jobs leaves a worker as quick as it was: `--cancels` running jobs cancelled in
a row on one prefork worker, then `--uploads` uploads, each timed from its POST to its result.

    python -m benchmarks.cancel_storm [--cancels 20] [--uploads 20]

One `vfer worker --pool prefork --concurrency 1` (its pool child loads the models when it starts),
the gateway, Redis (a database of its own). Each cancelled job is a 6.4-s clip in the paper's mode
(a detector on every frame: seconds of work), cancelled once it runs. Before cooperative
cancellation a cancel SIGKILLed the pool child and the new child, slower to load its models than
Celery's 4-s start limit, was killed again and again: the next upload waited 60 s. Prints the
uploads' times and the slowest against the first; writes `--out` as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import httpx

from benchmarks.clips import SINGLE_FACE
from benchmarks.machine import describe
from benchmarks.servers import WorkerSpec, running_service
from tests.service.helpers import wait_until

NOFACE_FACE = SINGLE_FACE.with_name("noface_face.mov")


def cancel_running(client: httpx.Client, clip: bytes) -> float:
    """One job posted, cancelled once it runs; seconds from the DELETE to its status `cancelled`."""
    job = client.post("/predict?wait=0&mode=paper", content=clip).json()
    wait_until(lambda: client.get(job["status_url"]).json()["status"] == "running", 120, "the job to run")
    asked = time.monotonic()
    assert client.delete(job["status_url"]).json()["status"] == "cancelled"
    return time.monotonic() - asked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cancels", type=int, default=20)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("build/cancel_storm.json"))
    args = parser.parse_args()
    noface, single = NOFACE_FACE.read_bytes(), SINGLE_FACE.read_bytes()
    print(f"machine: {describe()}")
    with (
        running_service(specs=[WorkerSpec(pool="prefork")]) as service,
        httpx.Client(base_url=service.http, timeout=120) as client,
    ):
        wait_until(lambda: client.get("/readyz").json()["workers"], 120, "the worker")
        cancels = [cancel_running(client, noface) for _ in range(args.cancels)]
        times = []
        for _ in range(args.uploads):
            started = time.monotonic()
            answer = client.post("/predict?wait=60", content=single)
            assert answer.status_code == 200, answer.text
            times.append(time.monotonic() - started)
    figures = {
        "machine": describe(),
        "cancels": args.cancels,
        "cancel_to_cancelled_s_max": round(max(cancels), 2),
        "upload_s": [round(t, 2) for t in times],
        "slowest_over_first": round(max(times) / times[0], 2),
    }
    print(json.dumps(figures))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
