"""Logs that name their job: with VFER_LOG_FORMAT=json the gateway and a real worker write one JSON
object a line, and the worker's lines about a job carry its id (the X-Job-Id a caller was given)."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import httpx

from tests.media import VIDEO
from tests.service.helpers import Worker, json_lines, service_env, vfer_serve
from vfer_jobs.logs import JOB_ID, JsonFormatter


def test_a_json_line_has_time_level_logger_message_and_the_job() -> None:
    record = logging.LogRecord("vfer.worker", logging.INFO, __file__, 1, "job %s", ("started",), None)
    token = JOB_ID.set("abc123")  # as the worker sets it around a task
    inside = json.loads(JsonFormatter().format(record))
    JOB_ID.reset(token)
    outside = json.loads(JsonFormatter().format(record))
    assert inside["job_id"] == "abc123" and "job_id" not in outside
    assert inside["message"] == "job started" and inside["level"] == "info" and inside["logger"] == "vfer.worker"
    assert inside["time"].endswith("Z")
    try:
        raise ValueError("bad frame")
    except ValueError:
        import sys

        failed = logging.LogRecord("vfer.worker", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: bad frame" in json.loads(JsonFormatter().format(failed))["error"]


def test_the_gateway_and_a_worker_write_json_lines_naming_the_job(broker_url: str, tmp_path: Path) -> None:
    env = service_env(broker_url, tmp_path / "blobs", VFER_QUEUE=f"logs-{uuid.uuid4().hex[:6]}", VFER_LOG_FORMAT="json")
    worker = Worker(env, tmp_path / "worker.log", loglevel="INFO")
    try:
        with vfer_serve(env, tmp_path / "serve.log") as url:
            clip = VIDEO / "single_face.mp4"
            response = httpx.post(f"{url}/predict?wait=60", files={"file": (clip.name, clip.read_bytes())}, timeout=90)
            assert response.status_code == 200, response.text
            job_id = response.headers["x-job-id"]
    finally:
        worker.stop()
    gateway = (tmp_path / "serve.log").read_text().splitlines()
    assert gateway and all(json.loads(line) for line in gateway if line.strip())  # every line is JSON
    assert any("POST /predict" in json.loads(line)["message"] for line in gateway if line.strip())
    about_the_job = [line for line in json_lines(tmp_path / "worker.log") if line.get("job_id") == job_id]
    assert {line["logger"] for line in about_the_job} >= {"vfer.worker"}, json_lines(tmp_path / "worker.log")
    assert any("finished" in line["message"] for line in about_the_job)
