"""`vfer serve` with `vfer worker` processes on Redis, for the serving benchmarks."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.service.helpers import Worker, claimed_broker, free_ports, service_env, service_ready, wait_until


@dataclass(frozen=True)
class Running:
    http: str  # base URL
    grpc: str  # host:port
    workers: int


@dataclass(frozen=True)
class WorkerSpec:
    """One `vfer worker` process: its role, and for a job worker its pool and threads."""

    role: str = "jobs"
    pool: str = "solo"
    concurrency: int = 1


@contextmanager
def _serving(env: dict[str, str], workers: Sequence[WorkerSpec], tmp: Path) -> Iterator[Running]:
    processes = [
        Worker(env, tmp / f"worker{i}.log", pool=spec.pool, role=spec.role, concurrency=spec.concurrency)
        for i, spec in enumerate(workers)
    ]
    port, grpc_port = free_ports(2)
    server = subprocess.Popen(
        [sys.executable, "-m", "vfer.cli", "serve", "--port", str(port), "--grpc-port", str(grpc_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: service_ready(url), 60, "the service")
        yield Running(http=url, grpc=f"127.0.0.1:{grpc_port}", workers=len(workers))
    finally:
        server.terminate()
        server.wait(timeout=20)
        for process in processes:
            process.stop()


@contextmanager
def running_service(
    *,
    workers: int = 2,
    specs: Sequence[WorkerSpec] | None = None,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Running]:
    """The gateway (HTTP and gRPC) and `workers` whole-job worker processes (or one per spec of
    `specs`), configured by the `VFER_*` variables in `settings`, on a Redis database of their own
    (`claimed_broker`: claimed like the tests', flushed when given back)."""
    with claimed_broker() as broker, tempfile.TemporaryDirectory() as tmp:
        env = service_env(
            broker, Path(tmp) / "blobs", VFER_LOG_LEVEL="warning", VFER_TORCH_THREADS="1", **(settings or {})
        )
        with _serving(env, specs or [WorkerSpec()] * workers, Path(tmp)) as running:
            yield running


@contextmanager
def running_embedded(**settings: str) -> Iterator[Running]:
    """`vfer serve` alone: the embedded default, its worker a thread of the gateway."""
    with tempfile.TemporaryDirectory() as tmp:
        env = service_env(None, Path(tmp) / "blobs", VFER_LOG_LEVEL="warning", **settings)
        with _serving(env, [], Path(tmp)) as running:
            yield running


def upload_all(http: str, clip: bytes, count: int) -> list[str]:
    """`count` uploads of `clip` sent at once, not waited for: their status URLs."""
    urls = []
    with httpx.Client(base_url=http, timeout=60) as client:
        for i in range(count):
            response = client.post("/predict?wait=0", files={"file": (f"clip{i}.mp4", clip)})
            assert response.status_code == 202, response.text
            urls.append(response.json()["status_url"])
    return urls


def wait_all_done(http: str, urls: Sequence[str]) -> None:
    with httpx.Client(base_url=http, timeout=60) as client:
        for url in urls:
            wait_until(lambda url=url: client.get(url).json()["status"] == "done", 600, f"{url} to be done")  # type: ignore[misc]
