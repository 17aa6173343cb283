"""The embedded default end to end: `vfer serve` with no broker (its web page: test_web_page.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.media import VIDEO
from tests.service.helpers import wait_until


def test_embedded_service_predicts_an_upload(embedded_url: str, data: Path) -> None:
    with httpx.Client(base_url=embedded_url, timeout=60) as client:
        assert client.get("/readyz").json() == {
            "status": "ready",
            "broker": True,
            "storage": True,
            "workers": True,
            "workers_failing": {},
        }
        response = client.post(
            "/predict?wait=50", files={"file": ("single_face.mp4", (VIDEO / "single_face.mp4").read_bytes())}
        )
        assert response.status_code == 200, response.text
        assert response.json()["source"] == "single_face.mp4" and len(response.json()["faces"]) == 1
        job = client.post("/predict?wait=0", content=(VIDEO / "no_face.mp4").read_bytes()).json()
        wait_until(lambda: client.get(job["status_url"]).json()["status"] == "done", 60, "the async job")
        assert client.get(job["status_url"]).json()["result"]["no_face"] is True


def test_a_busy_port_is_one_line_and_exit_2_before_any_serving_message() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "vfer.cli", "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "serving on" not in run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "not free" in lines[0], run.stderr
