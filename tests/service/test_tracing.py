"""OpenTelemetry: one trace per job from the HTTP request through the queue to the worker's
steps, exported over OTLP to a local receiver by real `vfer serve` and `vfer worker` processes,
in embedded and broker modes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.media import VIDEO
from tests.service.helpers import Worker, free_port, service_env, vfer_serve, wait_until
from tests.service.otlp import OtlpReceiver, Span

CLIP = VIDEO / "single_face.mp4"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    found = OtlpReceiver()
    yield found
    found.close()


def _job_trace(receiver: OtlpReceiver, url: str) -> tuple[str, dict[str, Span]]:
    """POST a clip and wait for its trace: the job id and the trace's spans by name."""
    response = httpx.post(f"{url}/predict?wait=60", content=CLIP.read_bytes(), timeout=90)
    assert response.status_code == 200, response.text
    job_id = response.headers["X-Job-Id"]

    def steps() -> dict[str, Span]:
        enqueue = [s for s in receiver.spans if s.name == "vfer.enqueue" and s.attributes.get("vfer.job_id") == job_id]
        if not enqueue:
            return {}
        return {s.name: s for s in receiver.spans if s.trace_id == enqueue[0].trace_id}

    wait_until(lambda: {"vfer.read_upload", "vfer.run", "run/vfer.predict"} <= set(steps()), 30, "the job's spans")
    return job_id, steps()


def _assert_one_tree(job_id: str, spans: dict[str, Span]) -> None:
    request = spans["POST /predict"]
    enqueue, publish, run = spans["vfer.enqueue"], spans["apply_async/vfer.predict"], spans["run/vfer.predict"]
    assert enqueue.parent_id == request.span_id and publish.parent_id == enqueue.span_id
    assert run.parent_id == publish.span_id, "the worker continues the trace the message carried"
    assert spans["vfer.read_upload"].parent_id == run.span_id and spans["vfer.run"].parent_id == run.span_id
    assert request.attributes["vfer.job_id"] == run.attributes["vfer.job_id"] == job_id


def test_an_embedded_job_is_one_trace(receiver: OtlpReceiver, tmp_path: Path, data: Path) -> None:
    env = service_env(None, tmp_path / "blobs", **receiver.env("vfer-gateway"))
    with vfer_serve(env, tmp_path / "serve.log") as url:
        job_id, spans = _job_trace(receiver, url)
    _assert_one_tree(job_id, spans)


def test_a_job_through_the_broker_is_one_trace_across_processes(
    receiver: OtlpReceiver, broker_url: str, tmp_path: Path, data: Path
) -> None:
    queue = f"trace-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        service_env(broker_url, tmp_path / "blobs", VFER_QUEUE=queue, **receiver.env("vfer-worker")), tmp_path / "w.log"
    )
    try:
        env = service_env(broker_url, tmp_path / "blobs", VFER_QUEUE=queue, **receiver.env("vfer-gateway"))
        with vfer_serve(env, tmp_path / "serve.log") as url:
            wait_until(lambda: httpx.get(f"{url}/readyz").json()["workers"], 90, "the worker")
            job_id, spans = _job_trace(receiver, url)
    finally:
        worker.stop()
    _assert_one_tree(job_id, spans)
    assert spans["POST /predict"].service == "vfer-gateway" and spans["run/vfer.predict"].service == "vfer-worker"


def test_tracing_off_exports_nothing(receiver: OtlpReceiver, tmp_path: Path, data: Path) -> None:
    with vfer_serve(service_env(None, tmp_path / "blobs"), tmp_path / "serve.log") as url:
        assert httpx.post(f"{url}/predict?wait=60", content=CLIP.read_bytes(), timeout=90).status_code == 200
    assert receiver.spans == []


def test_a_grpc_stream_is_one_trace_with_a_span_per_window(receiver: OtlpReceiver, tmp_path: Path, data: Path) -> None:
    grpc_port = free_port()
    env = service_env(None, tmp_path / "blobs", VFER_GRPC_PORT=str(grpc_port), **receiver.env("vfer-gateway"))
    with vfer_serve(env, tmp_path / "serve.log"):
        run = subprocess.run(
            [sys.executable, "-m", "vfer.cli", "stream", str(CLIP), "--target", f"127.0.0.1:{grpc_port}", "--json"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert run.returncode == 0, run.stderr
        count = len(run.stdout.splitlines())

        def windows() -> list[Span]:
            return [s for s in receiver.spans if s.name == "vfer.stream_window"]

        wait_until(lambda: len(windows()) == count, 30, "a span for every window")
        runs = lambda: [s for s in receiver.spans if s.name == "run/vfer.predict_window"]  # noqa: E731
        wait_until(lambda: len(runs()) == count, 30, "every window job's task span")
    stream = next(s for s in receiver.spans if s.name == "/vfer.v1.ExpressionService/StreamPredict")
    assert count >= 2 and {w.parent_id for w in windows()} == {stream.span_id}
    assert {s.trace_id for s in windows() + runs()} == {stream.trace_id}, "one trace per stream"
    assert {w.attributes["vfer.window"] for w in windows()} == set(range(count))
    by_id = {s.span_id: s for s in receiver.spans}
    for task in runs():  # task <- publish <- enqueue <- its window
        window = by_id[by_id[by_id[task.parent_id].parent_id].parent_id]
        assert (
            window.name == "vfer.stream_window" and window.attributes["vfer.job_id"] == task.attributes["vfer.job_id"]
        )
