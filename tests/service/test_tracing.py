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
from tests.service.helpers import Worker, free_port, json_lines, service_env, vfer_serve, wait_until
from tests.service.otlp import OtlpReceiver, Span
from vfer_jobs.contract import CLASSIFY_TASK
from vfer_jobs.tracing import JOB_ID

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

    wanted = {"POST /predict", "vfer.read_upload", "vfer.run", "run/vfer.predict", "vfer.decode_and_faces"}
    wait_until(lambda: wanted <= set(steps()), 30, "the job's spans")
    return job_id, steps()


def _assert_one_tree(job_id: str, spans: dict[str, Span], *, with_model: bool = True) -> None:
    request = spans["POST /predict"]
    enqueue, publish, run = spans["vfer.enqueue"], spans["apply_async/vfer.predict"], spans["run/vfer.predict"]
    assert enqueue.parent_id == request.span_id and publish.parent_id == enqueue.span_id
    assert run.parent_id == publish.span_id, "the worker continues the trace the message carried"
    assert spans["vfer.read_upload"].parent_id == run.span_id and spans["vfer.run"].parent_id == run.span_id
    assert request.attributes["vfer.job_id"] == run.attributes["vfer.job_id"] == job_id
    _assert_core_steps(spans, with_model=with_model)


def _assert_core_steps(spans: dict[str, Span], *, with_model: bool) -> None:
    """The core's steps under the worker's run span, in their order, with their busy times."""
    work = spans["vfer.run"]
    probe, found = spans["vfer.probe"], spans["vfer.decode_and_faces"]
    assert probe.parent_id == work.span_id and found.parent_id == work.span_id
    assert work.start_ns <= probe.start_ns <= probe.end_ns <= found.start_ns < found.end_ns <= work.end_ns
    assert found.attributes["vfer.decode_busy_ms"] > 0 and found.attributes["vfer.faces_busy_ms"] > 0
    if with_model:
        model = spans["vfer.model"]
        assert model.parent_id == work.span_id and model.attributes["vfer.model_busy_ms"] > 0
        assert found.start_ns <= model.start_ns and found.end_ns <= model.end_ns <= work.end_ns


def test_an_embedded_job_is_one_trace(receiver: OtlpReceiver, tmp_path: Path, data: Path) -> None:
    env = service_env(None, tmp_path / "blobs", **receiver.env("vfer-gateway"))
    with vfer_serve(env, tmp_path / "serve.log") as url:
        job_id, spans = _job_trace(receiver, url)
    _assert_one_tree(job_id, spans)


def test_a_job_through_the_broker_is_one_trace_across_processes(
    receiver: OtlpReceiver, broker_url: str, tmp_path: Path, data: Path
) -> None:
    """Across processes, and from the job's id to its worker's log lines and back (JSON lines
    carry the trace and span ids)."""
    queue = f"trace-{uuid.uuid4().hex[:8]}"
    worker_env = service_env(
        broker_url, tmp_path / "blobs", VFER_QUEUE=queue, VFER_LOG_FORMAT="json", **receiver.env("vfer-worker")
    )
    worker = Worker(worker_env, tmp_path / "w.log", loglevel="INFO")
    try:
        env = service_env(broker_url, tmp_path / "blobs", VFER_QUEUE=queue, **receiver.env("vfer-gateway"))
        with vfer_serve(env, tmp_path / "serve.log") as url:
            wait_until(lambda: httpx.get(f"{url}/readyz").json()["workers"], 90, "the worker")
            job_id, spans = _job_trace(receiver, url)
    finally:
        worker.stop()
    _assert_one_tree(job_id, spans)
    assert spans["POST /predict"].service == "vfer-gateway" and spans["run/vfer.predict"].service == "vfer-worker"
    lines = [line for line in json_lines(tmp_path / "w.log") if line.get("job_id") == job_id]
    traced = [line for line in lines if "trace_id" in line]
    assert traced and {line["trace_id"] for line in traced} == {spans["vfer.run"].trace_id}, lines
    assert {line["span_id"] for line in traced} <= {s.span_id for s in spans.values()}


def test_a_split_job_is_one_trace_and_each_inference_batch_links_to_it(
    receiver: OtlpReceiver, broker_url: str, tmp_path: Path, data: Path
) -> None:
    """Split topology: the request, the faces worker's task and its steps are the job's trace; an
    inference batch serves many jobs, so it is a trace of its own linked to each window message."""
    tag = uuid.uuid4().hex[:8]
    env = service_env(
        broker_url,
        tmp_path / "blobs",
        VFER_QUEUE=f"trace-jobs-{tag}",
        VFER_TOPOLOGY="split",
        VFER_INFERENCE_QUEUE=f"trace-inference-{tag}",
    )
    faces = Worker({**env, **receiver.env("vfer-worker")}, tmp_path / "faces.log", role="jobs")
    inference = Worker({**env, **receiver.env("vfer-inference")}, tmp_path / "inference.log", role="inference")
    try:
        with vfer_serve({**env, **receiver.env("vfer-gateway")}, tmp_path / "serve.log") as url:
            wait_until(lambda: httpx.get(f"{url}/readyz").json()["workers"], 90, "the workers")
            job_id, spans = _job_trace(receiver, url)

            trace_id = spans["vfer.run"].trace_id

            def batches() -> list[Span]:
                return [
                    s
                    for s in receiver.spans
                    if s.name == "vfer.inference_batch" and job_id in s.attributes["vfer.job_ids"]
                ]

            def sent() -> set[str]:  # the faces task's window messages
                return {
                    s.span_id
                    for s in receiver.spans
                    if s.trace_id == trace_id and s.name == f"apply_async/{CLASSIFY_TASK}"
                }

            def linked() -> set[str]:
                return {span_id for batch in batches() for trace, span_id in batch.links if trace == trace_id}

            wait_until(lambda: sent() and sent() <= linked(), 30, "a link to every window message of the job")

            def stored() -> list[Span]:
                return [s for s in receiver.spans if s.name == "vfer.store_result" and s.attributes[JOB_ID] == job_id]

            wait_until(stored, 30, "the span storing the job's result")
    finally:
        faces.stop()
        inference.stop()
    _assert_one_tree(job_id, spans, with_model=False)
    assert linked() == sent() and all(batch.parent_id == "" for batch in batches()), "a batch is a trace of its own"
    assert stored()[0].parent_id in {batch.span_id for batch in batches()}


def test_tracing_off_exports_nothing(receiver: OtlpReceiver, tmp_path: Path, data: Path) -> None:
    with vfer_serve(service_env(None, tmp_path / "blobs"), tmp_path / "serve.log") as url:
        assert httpx.post(f"{url}/predict?wait=60", content=CLIP.read_bytes(), timeout=90).status_code == 200
    assert receiver.spans == []


STREAM_SPANS = {"grpc": "/vfer.v1.ExpressionService/StreamPredict", "websocket": "HTTP /stream"}


@pytest.mark.parametrize("door", ["grpc", "websocket"])
def test_a_live_stream_is_one_trace_with_a_span_per_window(
    door: str, receiver: OtlpReceiver, tmp_path: Path, data: Path
) -> None:
    """Over gRPC (the server interceptor's span) and the WebSocket (the ASGI instrumentation's)."""
    grpc_port = free_port()
    env = service_env(None, tmp_path / "blobs", VFER_GRPC_PORT=str(grpc_port), **receiver.env("vfer-gateway"))
    with vfer_serve(env, tmp_path / "serve.log") as url:
        target = ["--target", f"127.0.0.1:{grpc_port}"] if door == "grpc" else ["--ws", f"ws{url[4:]}/stream"]
        run = subprocess.run(
            [sys.executable, "-m", "vfer.cli", "stream", str(CLIP), *target, "--json"],
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
    by_id = {s.span_id: s for s in receiver.spans}
    stream = by_id[windows()[0].parent_id]
    assert stream.name == STREAM_SPANS[door], stream.name
    assert count >= 2 and {w.parent_id for w in windows()} == {stream.span_id}
    assert {s.trace_id for s in windows() + runs()} == {stream.trace_id}, "one trace per stream"
    assert {w.attributes["vfer.window"] for w in windows()} == set(range(count))
    for task in runs():  # task <- publish <- enqueue <- its window
        window = by_id[by_id[by_id[task.parent_id].parent_id].parent_id]
        assert (
            window.name == "vfer.stream_window" and window.attributes["vfer.job_id"] == task.attributes["vfer.job_id"]
        )
