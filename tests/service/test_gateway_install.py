"""The gateway image's install, `.[gateway]` alone: no torch, no numpy, and it still serves.

A fresh virtual environment gets only `pip install '.[gateway]'` (what the gateway image
installs); its `vfer serve` takes a job end to end with a full worker from the test environment
beside it, on the real Redis.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.media import VIDEO
from tests.service.helpers import Worker, free_port, service_env, service_ready, wait_until
from vfer.models import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gateway_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("gateway-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{ROOT}[gateway]"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, f"pip install '.[gateway]' failed:\n{install.stderr[-3000:]}"
    return venv


def _imports(venv: Path, module: str) -> bool:
    """Whether the venv's Python imports `module` (run from its own folder, never the checkout)."""
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", f"import {module}"], capture_output=True, timeout=60, cwd=venv
    )
    return probe.returncode == 0


def test_the_gateway_install_has_no_model_libraries(gateway_venv: Path) -> None:
    for heavy in ("torch", "numpy", "dlib", "cv2", "av", "onnxruntime"):
        assert not _imports(gateway_venv, heavy), f"{heavy} is installed by .[gateway]"
    assert _imports(gateway_venv, "service.app") and _imports(gateway_venv, "service.rpc.server")


def test_model_commands_say_what_to_install(gateway_venv: Path, tmp_path: Path) -> None:
    vfer = str(gateway_venv / "bin" / "vfer")
    for argv in ([vfer, "predict", str(VIDEO / "single_face.mp4")], [vfer, "train", "--cache", "c", "--out", "o"]):
        run = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert run.returncode == 3, run.stderr
        assert "vfer[core]" in run.stderr and "Traceback" not in run.stderr


@pytest.fixture
def gateway(gateway_venv: Path, broker_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port, grpc_port = free_port(), free_port()
    env = service_env(broker_url, tmp_path / "blobs", VFER_QUEUE=f"vfer-gw-{uuid.uuid4().hex[:8]}")
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(gateway_venv / "bin" / "vfer"), "serve", "--port", str(port), "--grpc-port", str(grpc_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,  # not the checkout: the installed package, not the source tree, must serve
    )
    try:
        yield f"http://127.0.0.1:{port}", env
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_a_gateway_only_install_serves_a_job_end_to_end(
    gateway: tuple[str, dict[str, str]], tmp_path: Path, data: Path
) -> None:
    url, env = gateway
    wait_until(lambda: _answers(f"{url}/healthz"), 60, f"the gateway-only `vfer serve` (log: {tmp_path / 'serve.log'})")
    assert httpx.get(f"{url}/readyz").status_code == 200, "ready with the broker alone, before any worker"
    listed = httpx.get(f"{url}/models").json()["models"]  # the models' figures, read without torch
    assert {m["name"] for m in listed if m["default"]} == {DEFAULT_MODEL}
    assert all(0 < m["development"]["macro_recall"] < 1 for m in listed), listed
    worker = Worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: service_ready(url), 60, "the worker beside it")
        clip = (VIDEO / "single_face.mp4").read_bytes()
        response = httpx.post(f"{url}/predict", files={"file": ("single_face.mp4", clip)}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["source"] == "single_face.mp4" and len(response.json()["faces"]) == 1
    finally:
        worker.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
