"""The stack of docker-compose.yml on a real Docker engine: engine, images, stack, torn down always.

Run by `make deploy-test` (as root; it installs docker.io and debootstrap, and the compose
plugin into .venv-deploy). Left out of `make test` and `make test-fast` (marker `deploy`, set
in tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.deploy.lab import ROOT, Engine, LabError, build_images, build_standin, lab_root, require_tools
from tests.service.helpers import free_ports, wait_until

TAG = "lab"
PROJECT = "vfer-lab"
OVERRIDE = Path(__file__).with_name("compose.lab.yml")
FIGURES = ROOT / "out" / "deploy-figures.json"
# Redelivery after a crash waits for the visibility time-out (15 min in production); the lab
# shortens it so the crash test takes seconds. Everything else is the compose file's own.
LAB_TIMES = {"VFER_VISIBILITY_TIMEOUT_S": "20", "VFER_TASK_TIME_LIMIT_S": "120"}


@dataclass
class Stack:
    engine: Engine
    env: dict[str, str]
    http: str
    grpc: str
    figures: dict[str, object] = field(default_factory=dict)

    def compose(self, *args: str, timeout: float = 120) -> str:
        argv = ["docker", "compose", "-p", PROJECT, "-f", str(ROOT / "docker-compose.yml"), "-f", str(OVERRIDE)]
        return _run([*argv, *args], self.env, timeout)

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).split()

    def inspect(self, container: str) -> dict[str, object]:
        found: list[dict[str, object]] = json.loads(self.engine.docker("inspect", container))
        return found[0]


def _run(argv: list[str], env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv[4:8])}... exited {done.returncode}:\n{(done.stdout + done.stderr)[-4000:]}")
    return done.stdout


def _compose_binary() -> Path:
    given = os.environ.get("VFER_LAB_COMPOSE")
    if not given or not Path(given).is_file():
        raise LabError("set VFER_LAB_COMPOSE to the docker-compose plugin binary (make deploy-test does)")
    return Path(given)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    require_tools()
    root = lab_root()
    engine = Engine(root, _compose_binary())
    try:
        yield engine.start()
    finally:
        engine.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def images(engine: Engine) -> dict[str, object]:
    log = engine.root / "build.log"
    started = time.monotonic()
    build_standin(engine, engine.root, log)
    figures: dict[str, object] = {"standin_s": round(time.monotonic() - started)}
    figures |= {f"build_{target}_s": round(s) for target, s in build_images(engine, TAG, log).items()}
    for target in ("gateway", "worker"):
        size = engine.docker("image", "inspect", "-f", "{{.Size}}", f"vfer/vfer-{target}:{TAG}").strip()
        figures[f"image_{target}_mb"] = round(int(size) / 1e6)
    return figures


@pytest.fixture(scope="session")
def stack(engine: Engine, images: dict[str, object]) -> Iterator[Stack]:
    redis_port, http_port, grpc_port, metrics_port = free_ports(4)
    env = {
        **engine.env,
        **LAB_TIMES,
        "VFER_REGISTRY": "vfer",
        "VFER_TAG": TAG,
        "VFER_REDIS_PORT": str(redis_port),
        "VFER_REDIS_BIND": "127.0.0.1",
        "VFER_PORT": str(http_port),
        "VFER_GRPC_PORT": str(grpc_port),
        "VFER_INFERENCE_METRICS_PORT": str(metrics_port),
    }
    stack = Stack(engine, env, f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", dict(images))
    started = time.monotonic()
    try:
        stack.compose("up", "-d", "--no-build", "--wait", "--wait-timeout", "300", timeout=360)
        wait_until(lambda: ready_with_workers(stack.http), 120, "the stack's gateway to see its workers")
        stack.figures["stack_up_s"] = round(time.monotonic() - started, 1)
        yield stack
    except LabError:
        _dump_logs(stack)
        raise
    finally:
        FIGURES.parent.mkdir(exist_ok=True)
        FIGURES.write_text(json.dumps(stack.figures, indent=2) + "\n")
        try:
            stack.compose("down", "--volumes", "--timeout", "10", timeout=180)
        except (LabError, subprocess.TimeoutExpired):
            _dump_logs(stack)  # the engine's stop removes whatever is left


def ready_with_workers(url: str) -> bool:
    try:
        response = httpx.get(f"{url}/readyz", timeout=5)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and bool(response.json()["workers"])


def _dump_logs(stack: Stack) -> None:
    try:
        print(stack.compose("logs", "--no-color", "--tail", "80", timeout=60))
    except (LabError, subprocess.TimeoutExpired) as exc:
        print(f"(no compose logs: {exc})")
