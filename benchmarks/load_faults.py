"""Load and faults against the real stack: nothing accepted may be lost, nothing may be a 5xx
but a broker outage's 503, and nothing may grow without bound.

    python -m benchmarks.load_faults [--soak 60] [--chaos-jobs 200]

Runs its own `redis-server` (append-only, on a free port: the outage stops it), the gateway and
two `vfer worker` processes, then, in order:
1. burst: 40 uploads at once against VFER_MAX_QUEUE=8 (wait=0): counts of 202, 429 and other;
2. Redis outage: Redis is stopped for 5 s while uploads keep coming (2 per second), then started
   again from its append-only file;
3. worker SIGKILL: both workers are killed mid-job and started again (as a supervisor would);
4. lost message: a job's message removed from Redis after its 202, as the transport's gap
   (README, "Nothing is lost") loses one, the workers stopped and started again meanwhile;
   seconds from the loss to the job done, with the gateway's reaper at its default check (30 s);
5. chaos: `--chaos-jobs` uploads paced over 160 s while a worker is SIGKILLed (and started
   again) every 20 s and Redis is restarted once (stopped 5 s, half-way): jobs lost, stuck (not ended 60 s past their time
   limit after acceptance), failed, and published more than once (two outcomes);
6. soak: `--soak` seconds of uploads that wait for their result (2 at a time): latency p50/p95.
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
TIME_LIMIT_S = 60
KILL_EVERY_S = 20.0
CHAOS_S = 160.0


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


class Outcomes:
    """How many times each job's SUCCESS (its outcome) is published, heard on Redis pub/sub, the
    subscription renewed across a Redis restart."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.successes: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        import redis

        while not self._stop.is_set():
            try:
                pubsub = redis.Redis(port=self.port, socket_connect_timeout=1).pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe("celery-task-meta-*")
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.2)
                    if message is not None and json.loads(message["data"])["status"] == "SUCCESS":
                        self.successes[json.loads(message["data"])["task_id"]] += 1
            except redis.exceptions.RedisError:
                time.sleep(0.5)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def ends(
    url: str, jobs: list[str], timeout: float, more: threading.Event | None = None
) -> dict[str, tuple[str, str | None, float]]:
    """Each job's end (status, error code, when it was first seen ended), polled every half
    second; while `more` is set, `jobs` may still grow (it is followed as it does)."""
    deadline = time.monotonic() + timeout
    ended: dict[str, tuple[str, str | None, float]] = {}
    while (len(ended) < len(jobs) or (more is not None and more.is_set())) and time.monotonic() < deadline:
        for job in [j for j in list(jobs) if j not in ended]:
            try:
                body = httpx.get(f"{url}/jobs/{job}", timeout=10).json()
            except (httpx.HTTPError, ValueError):
                continue
            if body.get("status") in ("done", "failed", "cancelled"):
                ended[job] = (body["status"], (body.get("error") or {}).get("code"), time.monotonic())
        time.sleep(0.5)
    return ended


def lost_message(
    url: str, redis_port: int, workers: list[Worker], env: dict[str, str], tmp: Path, clip: bytes
) -> dict[str, object]:
    """Phase 4: a job's message removed from Redis after its 202 (what the transport's gap does
    to a message a killed worker had popped), with no worker running meanwhile."""
    import redis

    for worker in workers:
        worker.stop()
    accepted = Ledger()
    upload(url, clip, accepted, 0)
    job = accepted.accepted[0]
    removed = redis.Redis(port=redis_port).delete("vfer")
    lost = time.monotonic()
    workers[:] = [Worker(env, tmp / f"after-loss{i}.log") for i in range(len(workers))]
    end = ends(url, [job], 180).get(job)
    return {
        "message_removed": bool(removed),
        "status": end[0] if end else "not ended",
        "loss_to_end_s": round(end[2] - lost, 1) if end else None,
    }


def chaos(
    url: str, redis: AppendOnlyRedis, workers: list[Worker], env: dict[str, str], tmp: Path, clip: bytes, total: int
) -> dict[str, object]:
    """Phase 5: `total` uploads paced over CHAOS_S seconds (a refused one is tried again), a
    worker SIGKILLed and started again every KILL_EVERY_S, Redis restarted half-way."""
    outcomes = Outcomes(redis.port)
    accepted = Ledger()
    sent_at: dict[str, float] = {}
    started = time.monotonic()
    senders_count = 4
    interval = senders_count * CHAOS_S / (total * 1.25)  # an upload takes time too: end with `total`

    def send() -> None:
        while time.monotonic() - started < CHAOS_S:
            with accepted.lock:
                if len(accepted.accepted) >= total:
                    return
                before = len(accepted.accepted)
            upload(url, clip, accepted, 0)
            with accepted.lock:
                fresh = accepted.accepted[before:]
                for job in fresh:
                    sent_at.setdefault(job, time.monotonic())
            time.sleep(interval if fresh else 1.0)

    senders = [threading.Thread(target=send) for _ in range(senders_count)]
    for sender in senders:
        sender.start()
    sending = threading.Event()
    sending.set()
    ended: dict[str, tuple[str, str | None, float]] = {}
    follower = threading.Thread(  # followed as they are accepted: an end's time is when it happened
        target=lambda: ended.update(ends(url, accepted.accepted, CHAOS_S + TIME_LIMIT_S + 600, sending))
    )
    follower.start()
    kills, restarted, next_kill = 0, False, started + KILL_EVERY_S
    while any(sender.is_alive() for sender in senders):
        time.sleep(0.5)
        if time.monotonic() >= next_kill:
            index = kills % len(workers)
            workers[index].kill()
            workers[index] = Worker(env, tmp / f"chaos{kills}.log")
            kills, next_kill = kills + 1, next_kill + KILL_EVERY_S
        if not restarted and time.monotonic() - started > CHAOS_S / 2:
            redis.stop()
            time.sleep(5)
            redis.start()
            restarted = True
    sending.clear()
    follower.join()
    jobs = list(accepted.accepted)
    outcomes.close()
    waited = {j: at - sent_at.get(j, at) for j, (_, _, at) in ended.items()}
    codes = Counter(code for status, code, _ in ended.values() if status == "failed")
    return {
        "accepted": len(jobs),
        "statuses": dict(accepted.statuses),
        "worker_sigkills": kills,
        "redis_restarts": int(restarted),
        "seconds": round(time.monotonic() - started, 1),
        "lost": len(jobs) - len(ended),
        "stuck": sum(1 for seconds in waited.values() if seconds > TIME_LIMIT_S + 60),
        "failed": dict(codes),
        "double_outcomes": sum(1 for j in jobs if outcomes.successes[j] > 1),
        "end_p50_s": round(percentile(list(waited.values()), 0.5), 1) if waited else None,
        "slowest_end_s": round(max(waited.values(), default=0.0), 1),
    }


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
        VFER_TASK_TIME_LIMIT_S=str(TIME_LIMIT_S),
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
    parser.add_argument("--chaos-jobs", type=int, default=200, help="accepted jobs under faults (0: skip)")
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
        report["lost_message"] = lost_message(url, redis.port, workers, env, tmp, clip)
        if args.chaos_jobs:
            report["chaos"] = chaos(url, redis, workers, env, tmp, clip, args.chaos_jobs)

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
