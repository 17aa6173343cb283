"""Load and faults against the real stack: nothing accepted may be lost, nothing may be a 5xx
but a broker outage's 503, and nothing may grow without bound.

    python -m benchmarks.load_faults [--soak 60]

Runs its own `redis-server` (append-only, on a free port: the outage stops it), the gateway and
two `vfer worker` processes, then, in order:
1. burst: 40 uploads at once against VFER_MAX_QUEUE=8 (wait=0): counts of 202, 429 and other;
2. Redis outage: Redis is stopped for 5 s while uploads keep coming (2 per second), then started
   again from its append-only file;
3. worker SIGKILL: both workers are killed mid-job and started again (as a supervisor would);
4. soak: `--soak` seconds of uploads that wait for their result (2 at a time): latency p50/p95.
Every accepted job (200 or 202) is followed to its end: "lost" counts those that never end.
Memory (RSS) and open file descriptors of the gateway (after the warm-up, and at the end) and of
a worker (before and after the soak) show growth.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.clips import SINGLE_FACE
from benchmarks.machine import describe
from benchmarks.service import percentile
from tests.service.helpers import Worker, free_ports, redis_alive, service_env, service_ready, wait_until

MAX_QUEUE = 8


class AppendOnlyRedis:
    """redis-server with an append-only file in `folder`: a restart keeps what was queued."""

    def __init__(self, folder: Path, port: int) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is needed: apt-get install redis-server")
        self.argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--dir", str(folder)]
        self.argv += ["--save", "", "--appendfsync", "always"]
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: redis_alive(self.port), 20, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


def usage(pid: int) -> dict[str, float]:
    """Resident memory (MiB) and open file descriptors of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return {"rss_mib": round(rss_kib / 1024, 1), "fds": len(list(Path(f"/proc/{pid}/fd").iterdir()))}


class Ledger:
    """Every answer's status, and every accepted job, to be followed to its end."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.accepted: list[str] = []
        self.lock = threading.Lock()

    def record(self, response: httpx.Response | None) -> None:
        with self.lock:
            if response is None:
                self.statuses[0] += 1  # no answer at all (connection refused or reset)
                return
            self.statuses[response.status_code] += 1
            job = response.headers.get("X-Job-Id")
            if response.status_code in (200, 202) and job:
                self.accepted.append(job)


def upload(url: str, clip: bytes, ledger: Ledger, wait: float) -> float:
    started = time.monotonic()
    try:
        response = httpx.post(f"{url}/predict?wait={wait}", content=clip, timeout=wait + 30)
    except httpx.HTTPError:
        response = None
    ledger.record(response)
    return time.monotonic() - started


def unfinished(url: str, jobs: list[str], timeout: float) -> list[str]:
    """The jobs that have not ended (done, failed, cancelled) within `timeout`."""
    deadline = time.monotonic() + timeout
    pending = list(jobs)
    while pending and time.monotonic() < deadline:
        still = []
        for job in pending:
            try:
                status = httpx.get(f"{url}/jobs/{job}", timeout=10).json().get("status")
            except (httpx.HTTPError, ValueError):
                status = None
            if status not in ("done", "failed", "cancelled"):
                still.append(job)
        pending = still
        time.sleep(1)
    return pending


@contextmanager
def stack(tmp: Path) -> Iterator[tuple[str, AppendOnlyRedis, list[Worker], dict[str, str], subprocess.Popen[bytes]]]:
    redis_port, port = free_ports(2)
    redis = AppendOnlyRedis(tmp, redis_port)
    redis.start()
    env = service_env(
        f"redis://127.0.0.1:{redis_port}/0",
        tmp / "blobs",
        VFER_MAX_QUEUE=str(MAX_QUEUE),
        VFER_VISIBILITY_TIMEOUT_S="10",
        VFER_TASK_TIME_LIMIT_S="60",
        VFER_TORCH_THREADS="1",
        VFER_LOG_LEVEL="warning",
    )
    workers = [Worker(env, tmp / f"worker{i}.log") for i in range(2)]
    gateway = subprocess.Popen(
        [sys.executable, "-m", "vfer.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: service_ready(url), 90, "the stack")
        yield url, redis, workers, env, gateway
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
        for worker in workers:
            worker.stop()
        redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--soak", type=float, default=60.0, help="seconds of steady load")
    args = parser.parse_args()
    clip = SINGLE_FACE.read_bytes()
    report: dict[str, object] = {"machine": describe()}
    with tempfile.TemporaryDirectory() as folder, stack(Path(folder)) as (url, redis, workers, env, gateway):
        tmp = Path(folder)
        for _ in range(3):  # warm-up: models loaded, first requests served
            upload(url, clip, Ledger(), 30)
        gateway_before = usage(gateway.pid)

        burst = Ledger()
        with ThreadPoolExecutor(max_workers=40) as pool:
            list(pool.map(lambda _: upload(url, clip, burst, 0), range(40)))
        report["burst"] = {"statuses": dict(burst.statuses), "lost": len(unfinished(url, burst.accepted, 120))}

        outage = Ledger()

        def keep_sending() -> None:
            for _ in range(30):
                upload(url, clip, outage, 0)
                time.sleep(0.5)

        sender = threading.Thread(target=keep_sending)
        sender.start()
        time.sleep(3)
        redis.stop()
        time.sleep(5)
        redis.start()
        sender.join()
        wait_until(lambda: service_ready(url), 90, "the stack after the outage")
        report["redis_outage"] = {"statuses": dict(outage.statuses), "lost": len(unfinished(url, outage.accepted, 180))}

        crash = Ledger()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: upload(url, clip, crash, 0), range(4)))
        time.sleep(1.0)
        for worker in workers:
            worker.kill()
        workers[:] = [Worker(env, tmp / f"restarted{i}.log") for i in range(2)]
        report["worker_sigkill"] = {"statuses": dict(crash.statuses), "lost": len(unfinished(url, crash.accepted, 180))}

        wait_until(lambda: service_ready(url), 90, "the restarted workers")
        worker_before = usage(workers[0].process.pid)
        soak = Ledger()
        latencies: list[float] = []
        ends = time.monotonic() + args.soak

        def steady() -> None:
            while time.monotonic() < ends:
                latencies.append(upload(url, clip, soak, 30))

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda _: steady(), range(2)))
        report["soak"] = {
            "seconds": args.soak,
            "statuses": dict(soak.statuses),
            "lost": len(unfinished(url, soak.accepted, 120)),
            "p50_s": round(percentile(latencies, 0.5), 3),
            "p95_s": round(percentile(latencies, 0.95), 3),
        }
        report["resources"] = {
            "gateway": {"after_warm_up": gateway_before, "at_end": usage(gateway.pid)},
            "worker": {"before_soak": worker_before, "after_soak": usage(workers[0].process.pid)},
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
