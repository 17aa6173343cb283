"""docker-compose.yml brought up on a real engine from images built by the project's Dockerfile."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

from benchmarks.clips import make_long_clip
from tests.deploy.conftest import Stack, ready_with_workers
from tests.media import VIDEO
from tests.service.helpers import free_ports, wait_until
from vfer.labels import LABELS


def test_predict_answers_with_the_contract(stack: Stack, data: Path) -> None:
    started = time.monotonic()
    clip = (VIDEO / "single_face.mp4").read_bytes()
    response = httpx.post(f"{stack.http}/predict?wait=60", files={"file": ("single_face.mp4", clip)}, timeout=90)
    stack.figures["first_prediction_s"] = round(time.monotonic() - started, 2)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["labels"] == list(LABELS) and result["source"] == "single_face.mp4"
    assert len(result["faces"]) == 1 and set(result["distribution"]) == set(LABELS)
    assert result["model"]["device"] == "cpu"


def test_grpc_stream_predict_gives_windows(stack: Stack, data: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "vfer.cli", "stream", str(VIDEO / "single_face.mp4"), "--target", stack.grpc, "--json"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    windows = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(windows) >= 2 and all(window["faces"] for window in windows)


def test_the_websocket_stream_gives_the_windows_grpc_gives(stack: Stack, data: Path) -> None:
    """The gateway image serves /stream (its WebSocket library installed), on the same workers."""

    def stream(*door: str) -> list[dict[str, object]]:
        run = subprocess.run(
            [sys.executable, "-m", "vfer.cli", "stream", str(VIDEO / "single_face.mp4"), *door, "--json"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert run.returncode == 0, run.stderr
        return [json.loads(line) for line in run.stdout.splitlines()]

    over_ws = stream("--ws", stack.http.replace("http://", "ws://") + "/stream")
    over_grpc = stream("--target", stack.grpc)
    assert len(over_ws) == len(over_grpc) >= 2
    assert [[f["label"] for f in w["faces"]] for w in over_ws] == [[f["label"] for f in w["faces"]] for w in over_grpc]


def test_containers_run_as_non_root_on_a_read_only_root(stack: Stack) -> None:
    assert stack.compose("exec", "-T", "gateway", "id", "-u").strip() == "10001"
    for service in ("gateway", "worker"):
        for container in stack.containers(service):
            host = stack.inspect(container)["HostConfig"]
            assert isinstance(host, dict)
            assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
            assert "no-new-privileges:true" in host["SecurityOpt"]


def test_a_job_survives_its_workers_being_killed(stack: Stack, data: Path, tmp_path: Path) -> None:
    """SIGKILL every worker mid-job (as the kernel's OOM killer would): Docker restarts them and
    the job, never acknowledged, is delivered again and completes."""
    clip = make_long_clip(VIDEO / "single_face.mp4", 12.0, tmp_path / "long.mp4").read_bytes()  # seconds of work
    job = httpx.post(f"{stack.http}/predict?wait=0&mode=paper", content=clip, timeout=30).json()
    status_url = f"{stack.http}{job['status_url']}"
    wait_until(lambda: httpx.get(status_url).json()["status"] == "running", 60, "the job to start")
    workers = stack.containers("worker")
    for container in workers:
        state = stack.inspect(container)["State"]
        assert isinstance(state, dict)
        os.kill(int(state["Pid"]), signal.SIGKILL)
    wait_until(lambda: all(_restarted(stack, c) for c in workers), 60, "Docker to restart the killed workers")
    killed_at = time.monotonic()
    wait_until(lambda: httpx.get(status_url).json()["status"] == "done", 180, "the job to complete after the crash")
    stack.figures["job_done_after_crash_s"] = round(time.monotonic() - killed_at, 1)
    assert httpx.get(status_url).json()["result"]["faces"]


def _restarted(stack: Stack, container: str) -> bool:
    found = stack.inspect(container)
    state = found["State"]
    assert isinstance(state, dict)
    return bool(found["RestartCount"]) and state["Running"] is True


def test_the_split_profile_classifies_through_the_inference_worker(stack: Stack, data: Path) -> None:
    """Last, as it stops the whole-job workers: `--profile split` brings up faces workers and the
    inference worker; a job goes through both and its windows show in the inference metrics."""
    stack.compose("stop", "worker")
    started = time.monotonic()
    stack.compose("--profile", "split", "up", "-d", "--no-build", "--wait", "faces", "inference", timeout=360)
    stack.figures["split_up_s"] = round(time.monotonic() - started, 1)
    clip = (VIDEO / "single_face.mp4").read_bytes()
    response = httpx.post(f"{stack.http}/predict?wait=60", files={"file": ("single_face.mp4", clip)}, timeout=90)
    assert response.status_code == 200, response.text
    windows = sum(len(face["windows"]) for face in response.json()["faces"])
    metrics = httpx.get(f"http://127.0.0.1:{stack.env['VFER_INFERENCE_METRICS_PORT']}/metrics", timeout=10).text
    classified = [line for line in metrics.splitlines() if line.startswith("vfer_inference_windows_total ")]
    assert windows > 0 and classified and float(classified[0].split()[-1]) >= windows


def test_the_ha_profile_fails_over_with_a_job_in_flight(stack: Stack, data: Path, tmp_path: Path) -> None:
    """Last, as it moves the stack onto Sentinel: `--profile ha` adds a replica and three
    Sentinels, the gateway and the workers are recreated on sentinel:// URLs, and the primary's
    container is killed mid-job. The job finishes on the promoted replica; meanwhile the gateway
    answers 503 with Retry-After, never 500, and it recovers by itself."""
    replica_port, *sentinel_ports = free_ports(4)
    ha = Stack(
        stack.engine,
        {
            **stack.env,
            "VFER_REDIS_REPLICA_PORT": str(replica_port),
            **{f"VFER_SENTINEL_PORT_{i}": str(port) for i, port in enumerate(sentinel_ports, 1)},
            "VFER_LAB_BROKER_URL": ";".join(f"sentinel://127.0.0.1:{port}/0" for port in sentinel_ports),
            "VFER_REDIS_SENTINEL_MASTER": "vfer",
        },
        stack.http,
        stack.grpc,
        stack.figures,
    )
    ha.compose("--profile", "split", "stop", "faces", "inference", timeout=180)
    ha.compose("--profile", "ha", "up", "-d", "--no-build", "--wait", "redis-replica", *SENTINELS, timeout=300)

    def sentinel(port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_connect_timeout=1, decode_responses=True)

    def watching() -> bool:
        try:
            return all(
                len(sentinel(p).sentinel_slaves("vfer")) == 1 and len(sentinel(p).sentinel_sentinels("vfer")) == 2
                for p in sentinel_ports
            )
        except redis.RedisError:
            return False

    wait_until(watching, 90, "the Sentinels to know the replica and each other")
    ha.compose("up", "-d", "--no-build", "--wait", "gateway", "worker", timeout=360)
    wait_until(lambda: ready_with_workers(ha.http), 120, "the gateway on Sentinel to see its workers")
    clip = make_long_clip(VIDEO / "single_face.mp4", 12.0, tmp_path / "long.mp4").read_bytes()
    job = httpx.post(f"{ha.http}/predict?wait=0&mode=paper", content=clip, timeout=30).json()
    status_url = f"{ha.http}{job['status_url']}"
    wait_until(lambda: httpx.get(status_url).json()["status"] == "running", 60, "the job to start")
    ha.compose("stop", "--timeout", "0", "redis", timeout=60)  # killed at once, and left down
    killed_at = time.monotonic()
    answers: list[tuple[int, str | None]] = []

    def done() -> bool:
        response = httpx.get(status_url, timeout=10)
        answers.append((response.status_code, response.headers.get("Retry-After")))
        return response.status_code == 200 and response.json()["status"] == "done"

    wait_until(done, 180, "the job to finish on the promoted replica")
    ha.figures["failover_job_done_s"] = round(time.monotonic() - killed_at, 1)
    _, port = sentinel(sentinel_ports[0]).sentinel_get_master_addr_by_name("vfer")
    assert int(port) == replica_port, "the replica was promoted"
    assert {code for code, _ in answers} <= {200, 503}, answers
    assert all(retry for code, retry in answers if code == 503), answers
    assert httpx.get(status_url).json()["result"]["faces"]
    after = httpx.post(f"{ha.http}/predict?wait=60", content=(VIDEO / "single_face.mp4").read_bytes(), timeout=90)
    assert after.status_code == 200 and after.json()["faces"], after.text


SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
