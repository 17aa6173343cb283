"""The shipped Grafana dashboard's queries against a running stack: Debian's Prometheus
(unpacked by `make deploy-tools`, no service installed) scrapes a real gateway and inference
worker of the split topology, and every panel's query returns data."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.media import VIDEO
from tests.service.helpers import RedisServer, Worker, free_ports, service_env, vfer_serve, wait_until

DASHBOARD = Path(__file__).resolve().parents[2] / "k8s" / "components" / "monitoring" / "vfer-dashboard.json"


def _queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


@pytest.fixture
def prometheus_binary() -> str:
    binary = os.environ.get("VFER_LAB_PROMETHEUS", "")
    if not Path(binary).is_file():
        pytest.fail("set VFER_LAB_PROMETHEUS to Debian's prometheus binary (`make deploy-test` unpacks and sets it)")
    return binary


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


def test_every_dashboard_query_returns_data(
    prometheus_binary: str, redis_server: RedisServer, tmp_path: Path, data: Path
) -> None:
    metrics_port, prometheus_port = free_ports(2)
    env = service_env(f"redis://127.0.0.1:{redis_server.port}/0", tmp_path / "blobs", VFER_TOPOLOGY="split")
    faces = Worker(env, tmp_path / "faces.log")
    inference = Worker({**env, "VFER_METRICS_PORT": str(metrics_port)}, tmp_path / "inference.log", role="inference")
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        with vfer_serve(env, tmp_path / "serve.log") as url:
            config = tmp_path / "prometheus.yml"
            config.write_text(
                "global: {scrape_interval: 1s}\nscrape_configs:\n"
                f"  - {{job_name: vfer-gateway, static_configs: [{{targets: ['{url.removeprefix('http://')}']}}]}}\n"
                f"  - {{job_name: vfer-inference, static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]}}\n"
            )
            flags = [f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}"]
            flags.append(f"--web.listen-address=127.0.0.1:{prometheus_port}")
            prometheus = subprocess.Popen(
                [prometheus_binary, *flags],
                stdout=subprocess.DEVNULL,
                stderr=(tmp_path / "prometheus.log").open("wb"),
            )
            api = f"http://127.0.0.1:{prometheus_port}/api/v1"
            wait_until(lambda: httpx.get(f"{url}/readyz").json()["workers"], 90, "the workers")
            wait_until(lambda: _targets_up(api) == 2, 60, "Prometheus to scrape the gateway and the inference worker")
            for _ in range(3):  # traffic after the first scrape, so every rate() sees it grow
                response = httpx.post(
                    f"{url}/predict?wait=60", content=(VIDEO / "single_face.mp4").read_bytes(), timeout=90
                )
                assert response.status_code == 200, response.text
            empty: list[str] = []

            def answered() -> bool:
                empty[:] = [query for query in _queries() if not _result(api, query)]
                return not empty

            wait_until(answered, 60, f"every dashboard query to return data (still empty: {empty})")
    finally:
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(timeout=30)
        faces.stop()
        inference.stop()


def _targets_up(api: str) -> int:
    try:
        targets = httpx.get(f"{api}/targets", timeout=5).json()["data"]["activeTargets"]
    except (httpx.HTTPError, ValueError, KeyError):
        return 0
    return sum(1 for target in targets if target["health"] == "up")


def _result(api: str, query: str) -> list[Any]:
    body = httpx.get(f"{api}/query", params={"query": query}, timeout=10).json()
    assert body["status"] == "success", body
    found: list[Any] = body["data"]["result"]
    return found
