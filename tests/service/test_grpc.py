"""gRPC: a real server on port 0, a real channel, the real Redis and a real worker process."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import grpc
import numpy as np
import pytest
from celery.result import AsyncResult
from fastapi.testclient import TestClient
from google.protobuf.json_format import MessageToDict
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from service.celery_client import create_celery
from service.gateway_settings import Settings
from service.rpc.convert import result_dict
from tests.media import LONDON, VIDEO, band_share, encode
from tests.schema import assert_result, assert_stream_window
from tests.service.helpers import GrpcServer, RedisServer, Worker, wait_until
from vfer.labels import LABELS
from vfer.models import DEFAULT_MODEL
from vfer.plots import COLORS
from vfer.predict import Predictor
from vfer_client.grpc_client import Client, encoded_frames, stream_requests
from vfer_jobs.blobs import DirectoryBlobStore
from vfer_rpc.v1 import expression_pb2 as pb

SINGLE = VIDEO / "single_face.mp4"
GRID = VIDEO / "grid" / "bbaf2n.mpg"


@pytest.fixture(scope="module")
def predictor_result(client) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The HTTP result of the same clip, for the schema to compare with."""
    response = client.post("/predict", content=GRID.read_bytes())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def stream(target: str, path: Path, **kw: object) -> list[pb.WindowResult]:
    with Client(target) as client:
        return list(client.stream(stream_requests(encoded_frames(path), **kw), timeout=120))  # type: ignore[arg-type]


def test_unary_predict_returns_typed_faces(grpc_target: str, data: Path) -> None:
    with Client(grpc_target) as client:
        response = client.predict(SINGLE.read_bytes(), filename="single_face.mp4", timeout=60)
    assert list(response.labels) == list(LABELS) and response.source == "single_face.mp4"
    assert not response.no_face and len(response.faces) == 1 and response.main_track_id == 0
    face = response.faces[0]
    assert sum(face.distribution.values()) == pytest.approx(1, abs=1e-3)
    assert face.windows and face.box.width > 100
    assert response.video.frames == 72 and response.model.name == DEFAULT_MODEL


def test_the_unary_response_is_the_http_result_field_for_field(grpc_target: str, predictor_result: dict) -> None:  # type: ignore[type-arg]
    """The same clip over gRPC and HTTP: `result_dict` of the response equals the HTTP body (up to
    float32 rounding and the timings), and both follow vfer/result.schema.json."""
    with Client(grpc_target) as client:
        response = client.predict(GRID.read_bytes(), filename="upload", timeout=60)
    assert response.job_id
    result = result_dict(response)
    assert_result(result)
    assert_result(predictor_result)
    assert result["timings_ms"].keys() == predictor_result["timings_ms"].keys()
    assert _without_timings(result) == pytest.approx(_without_timings(predictor_result), abs=1e-6)


def _without_timings(result: dict) -> dict:  # type: ignore[type-arg]
    """The result flattened to path -> value (pytest.approx compares flat mappings), no timings."""
    flat: dict[str, object] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}", item)
        elif isinstance(value, list):
            flat[f"{prefix}#"] = len(value)
            for i, item in enumerate(value):
                walk(f"{prefix}[{i}]", item)
        else:
            flat[prefix] = value

    walk("", {k: v for k, v in result.items() if k != "timings_ms"})
    return flat


@pytest.mark.parametrize("path", [SINGLE, GRID], ids=["single_face", "grid"])
def test_streaming_gives_windows_in_order_with_one_stable_track(grpc_target: str, data: Path, path: Path) -> None:
    windows = stream(grpc_target, path)
    assert len(windows) >= 2
    assert [w.index for w in windows] == list(range(len(windows)))
    assert all(a.start_s < b.start_s for a, b in itertools.pairwise(windows))
    assert all(len(w.faces) == 1 and w.faces[0].track_id == 0 for w in windows)
    for window in windows:
        assert window.end_s - window.start_s == pytest.approx(2.0, abs=0.15)
        assert sum(window.faces[0].distribution.values()) == pytest.approx(1, abs=1e-3)


def test_a_face_that_leaves_ends_its_track(grpc_target: str, data: Path) -> None:
    windows = stream(grpc_target, VIDEO / "face_noface.mov")
    assert windows[0].faces and windows[0].faces[0].track_id == 0
    assert not windows[-1].faces, "the last windows are after the cut, without the face"
    assert {f.track_id for w in windows for f in w.faces} == {0}


def test_a_malformed_frame_is_invalid_argument_and_other_streams_go_on(grpc_target: str, data: Path) -> None:
    good = list(encoded_frames(SINGLE))

    def broken() -> Iterator[tuple[float, bytes]]:
        for i, (time_s, image) in enumerate(good):
            yield time_s, (b"not an image" if i == 5 else image)

    survivor: list[pb.WindowResult] = []
    other = threading.Thread(target=lambda: survivor.extend(stream(grpc_target, SINGLE)))
    other.start()
    with Client(grpc_target) as client, pytest.raises(grpc.RpcError) as failure:
        list(client.stream(stream_requests(broken()), timeout=60))
    other.join(timeout=120)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "frame 5" in failure.value.details()
    assert len(survivor) >= 2, "a bad frame in one stream ends nothing else"


def test_a_time_that_jumps_past_any_clock_is_invalid_argument(grpc_target: str, data: Path) -> None:
    """Frames at 0 s, then at 1e308 s: the sampling grid overflowed and gRPC answered UNKNOWN."""
    (_, image), *_ = encoded_frames(SINGLE)
    with Client(grpc_target) as client, pytest.raises(grpc.RpcError) as failure:
        list(client.stream(stream_requests(iter([(0.0, image), (1e308, image)])), timeout=60))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "frame 1" in failure.value.details()


def test_a_bad_stream_configuration_is_invalid_argument(grpc_target: str) -> None:
    requests = iter([pb.StreamRequest(config=pb.StreamConfig(window_s=100, format=pb.FRAME_FORMAT_JPEG))])
    with Client(grpc_target) as client, pytest.raises(grpc.RpcError) as failure:
        list(client.stream(requests, timeout=10))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "window_s" in failure.value.details()


def test_an_unknown_model_is_refused_at_configuration(grpc_target: str) -> None:
    """Before any frame: the configuration message alone is answered INVALID_ARGUMENT."""
    config = pb.StreamConfig(model="no_such_model", format=pb.FRAME_FORMAT_JPEG)
    with Client(grpc_target) as client, pytest.raises(grpc.RpcError) as failure:
        list(client.stream(iter([pb.StreamRequest(config=config)]), timeout=10))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "no_such_model" in failure.value.details()


@pytest.mark.parametrize("method", ["Predict", "StreamPredict", "ListModels"])
def test_bytes_that_are_no_protobuf_message_are_invalid_argument(grpc_target: str, method: str) -> None:
    garbage = b"\xff\xff\xff\xff not a protobuf message"
    with grpc.insecure_channel(grpc_target) as channel, pytest.raises(grpc.RpcError) as failure:
        path = f"/vfer.v1.ExpressionService/{method}"
        if method != "StreamPredict":
            channel.unary_unary(path)(garbage, timeout=10)
        else:
            list(channel.stream_stream(path)(iter([garbage]), timeout=10))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT, failure.value.details()
    assert "not a valid" in failure.value.details()


def test_not_a_video_is_invalid_argument(grpc_target: str) -> None:
    with Client(grpc_target) as client, pytest.raises(grpc.RpcError) as failure:
        client.predict(b"hello, just text\n" * 50, timeout=30)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_server_cancels_a_job_whose_deadline_passed(grpc_target: str, settings: Settings, data: Path) -> None:
    """The deadline passes while the job runs: queuing the clip takes milliseconds, the job about
    3 s on a quiet 2-core machine (1,160 frames of a face in paper mode), whatever the machine's
    load (0.3 s on a 1-s job lost the race to the queue under load; 290 frames took 0.8 s on a
    quiet machine, under the deadline, and the call succeeded)."""
    face = cv2.imread(str(LONDON / "neutral" / "001.jpg"), cv2.IMREAD_GRAYSCALE)
    frame = cv2.resize(face, (640, 480))
    clip = encode([np.roll(frame, t % 7, axis=1) for t in range(1160)], fps=240)  # under the 5-s limit
    assert len(clip) < settings.max_upload_bytes
    with Client(grpc_target) as client, pytest.raises(grpc.RpcError) as failure:
        client.predict(clip, mode="paper", timeout=1.0)
    assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    job_id = dict(failure.value.initial_metadata() or ())["x-job-id"]  # sent as the job was queued

    def cancelled() -> bool:
        return AsyncResult(job_id, app=create_celery(settings)).state == "REVOKED"

    wait_until(cancelled, 10, f"the server to cancel job {job_id}")
    assert not (settings.blob_dir / job_id).exists(), "the cancelled job's upload is deleted"


def test_a_deadline_that_passes_before_the_job_is_queued_leaves_no_job(
    settings: Settings, worker: Worker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deadlines that pass before, while and just after the job is queued, on a machine so busy
    that storing the upload takes 0.3 s: every job the server queued is cancelled and its upload
    deleted (nothing consumes this queue: a job left behind keeps its upload)."""
    unread = settings.model_copy(update={"queue": "nobody-reads-this", "blob_dir": tmp_path})
    put = DirectoryBlobStore.put

    def slow_put(self: DirectoryBlobStore, key: str, data: bytes) -> None:
        time.sleep(0.3)
        put(self, key, data)

    monkeypatch.setattr(DirectoryBlobStore, "put", slow_put)
    server = GrpcServer(unread)
    try:
        with Client(server.target) as client:
            for timeout in (0.01, 0.1, 0.2, 0.4, 0.6):
                with pytest.raises(grpc.RpcError) as failure:
                    client.predict(SINGLE.read_bytes(), timeout=timeout)
                assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        wait_until(lambda: not any(tmp_path.iterdir()), 10, "every queued job's upload to be deleted")
    finally:
        server.stop()


def test_health_and_reflection_answer(grpc_target: str) -> None:
    with grpc.insecure_channel(grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "vfer.v1.ExpressionService"):
            answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = reflect.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name for reply in replies for s in reply.list_services_response.service}
    assert "vfer.v1.ExpressionService" in names and "grpc.health.v1.Health" in names


def test_list_models_is_http_get_models(grpc_target: str, client: TestClient) -> None:
    """The same models, figures and default as GET /models, field for field."""
    with Client(grpc_target) as rpc:
        listed = MessageToDict(rpc.list_models(timeout=10), preserving_proto_field_name=True)
    http = client.get("/models").json()
    assert listed["card"] == http["card"] and listed.get("model_dir", False) == http["model_dir"]
    for model, expected in zip(listed["models"], http["models"], strict=True):
        assert (model["name"], model["version"], model["kind"]) == (
            expected["name"],
            expected["version"],
            expected["kind"],
        )
        assert model.get("is_default", False) == expected["default"]
        assert model["development"] == expected["development"]
    assert sum(m.get("is_default", False) for m in listed["models"]) == 1


def test_api_key_metadata_when_configured(settings: Settings, worker: Worker, data: Path) -> None:
    server = GrpcServer(settings.model_copy(update={"api_keys": ["k1"]}))
    try:
        with Client(server.target) as anonymous, pytest.raises(grpc.RpcError) as failure:
            anonymous.predict(SINGLE.read_bytes(), timeout=30)
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with Client(server.target) as anonymous, pytest.raises(grpc.RpcError) as failure:
            anonymous.list_models(timeout=10)
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with Client(server.target, api_key="k1") as client:
            assert len(client.predict(SINGLE.read_bytes(), timeout=60).faces) == 1
            assert len(client.list_models(timeout=10).models) == 5
    finally:
        server.stop()


def test_broker_down_is_unavailable(tmp_path: Path, data: Path) -> None:
    redis_server = RedisServer().start()
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    server = GrpcServer(Settings(broker_url=url, blob_dir=tmp_path / "blobs"))
    try:
        redis_server.stop()
        with Client(server.target) as client, pytest.raises(grpc.RpcError) as failure:
            client.predict(SINGLE.read_bytes(), timeout=30)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop()
        redis_server.stop()


def test_vfer_stream_prints_one_line_per_window(grpc_target: str, data: Path) -> None:
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "vfer.cli", "stream", str(GRID), "--target", grpc_target],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) >= 2 and all(line.startswith("window") and "face 0" in line for line in lines)


def test_vfer_stream_json_speaks_the_result_schema(
    grpc_target: str,
    data: Path,
    predictor_result: dict,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    """Labels in their order, boxes as [x, y, w, h], times to the millisecond: as HTTP and the CLI
    write a window (protobuf's JSON mapping had map order, {x, y, width, height}, 16 digits)."""
    import json
    import subprocess
    import sys

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "vfer.cli",
            "stream",
            str(GRID),
            "--target",
            grpc_target,
            "--json",
            "--plot",
            str(tmp_path / "stream.png"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    windows = [json.loads(line) for line in run.stdout.splitlines()]
    for window in windows:
        assert_stream_window(window)
    # --plot: the face's bands cover the time its windows span, in their labels' colours.
    spanned = (windows[-1]["end_s"] - windows[0]["start_s"]) / windows[-1]["end_s"]
    drawn = sum(band_share(tmp_path / "stream.png", COLORS[label]) for label in LABELS)
    assert drawn == pytest.approx(spanned, abs=0.02)  # a pixel column lost at each change of colour
    http_window = predictor_result["faces"][0]["windows"][0]
    for window in windows:
        assert window["labels"] == list(LABELS) and window["start_s"] == round(window["start_s"], 3)
        face = window["faces"][0]
        assert list(face["distribution"]) == list(LABELS) and len(face["box"]) == 4
        # A stream window times all its faces at once; each face is an HTTP window's other fields.
        assert set(face) - {"track_id"} == set(http_window) - {"start_s", "end_s"}
        assert all(isinstance(v, int) for v in face["box"]) and isinstance(http_window["box"], list)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "no such file"),
        (
            lambda d: (d / "notes.txt", (d / "notes.txt").write_text("plain text\n" * 100))[0],
            "this is text, not a video",
        ),
        (lambda d: (d / "cut.mp4", (d / "cut.mp4").write_bytes(SINGLE.read_bytes()[:60_000]))[0], "not a video"),
    ],
    ids=["missing", "text", "truncated"],
)
def test_vfer_stream_of_a_bad_file_says_why_in_one_line(
    grpc_target: str, data: Path, tmp_path: Path, make, message: str
) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "vfer.cli", "stream", str(make(tmp_path)), "--target", grpc_target],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Exception iterating" not in lines[0], run.stderr


@pytest.mark.parametrize(("fmt", "side"), [("png", (6000, 6000)), ("jpeg", (7680, 4320))])
def test_a_compressed_frame_over_the_pixel_limit_is_refused_before_decoding(
    grpc_target: str, fmt: str, side: tuple[int, int]
) -> None:
    """A 44 KB PNG that declares 6000x6000 (4.3x the limit) was accepted, and took a worker from
    0.6 to 2 GB; its header says its size."""
    width, height = side
    encoded = cv2.imencode(f".{fmt}", np.zeros((height, width), np.uint8))[1].tobytes()
    assert len(encoded) < 2_000_000
    config = pb.StreamConfig(format=pb.FRAME_FORMAT_PNG if fmt == "png" else pb.FRAME_FORMAT_JPEG)
    frames = [pb.StreamRequest(frame=pb.Frame(data=encoded, time_s=i / 10)) for i in range(9)]
    with Client(grpc_target) as client, pytest.raises(grpc.RpcError) as failure:
        list(client.stream(iter([pb.StreamRequest(config=config), *frames]), timeout=30))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"{width}x{height} exceeds the limit" in failure.value.details()


def test_a_stream_that_sends_nothing_is_not_held(settings: Settings, worker: Worker, tmp_path: Path) -> None:
    """A config and then silence: the stream ends like an idle upload (it was held 75 s and more)."""
    quiet = settings.model_copy(update={"upload_idle_timeout_s": 1.0, "blob_dir": tmp_path})
    server = GrpcServer(quiet)
    release = threading.Event()

    def config_then_silence() -> Iterator[pb.StreamRequest]:
        yield pb.StreamRequest(config=pb.StreamConfig(format=pb.FRAME_FORMAT_JPEG))
        release.wait(30)

    try:
        with Client(server.target) as client, pytest.raises(grpc.RpcError) as failure:
            list(client.stream(config_then_silence(), timeout=20))
        assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "sent nothing for 1 s" in failure.value.details()
    finally:
        release.set()
        server.stop()


def test_waiting_is_bounded_when_no_worker_consumes(settings: Settings, data: Path, tmp_path: Path) -> None:
    idle = settings.model_copy(update={"queue": "nobody-listens", "stream_stall_s": 1.0, "blob_dir": tmp_path})
    server = GrpcServer(idle)
    try:
        with Client(server.target) as client, pytest.raises(grpc.RpcError) as failure:
            list(client.stream(stream_requests(encoded_frames(SINGLE)), timeout=30))
        assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "not done within" in failure.value.details()
    finally:
        server.stop()


def test_the_docs_stream_example_is_what_vfer_stream_prints(grpc_target: str) -> None:
    """docs/service.md showed "neutral 98% / happy 60% / happy 72%" long after the model changed."""
    import re

    docs = (Path(__file__).resolve().parents[2] / "docs" / "service.md").read_text()
    block = re.search(r"```console\n\$ (vfer stream \S+) --target \S+\n(.*?)```", docs, re.S)
    assert block, "docs/service.md has no `vfer stream` example"
    command, shown = block.group(1), block.group(2)
    run = subprocess.run(
        [sys.executable, "-m", "vfer.cli", *command.split()[1:], "--target", grpc_target],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == shown.strip().splitlines()


@pytest.mark.parametrize("clip", ["single_face.mp4", "no_face.mp4"])
def test_a_result_goes_through_its_message_and_back_unchanged(predictor: Predictor, clip: str) -> None:
    """Through the one result type and protobuf's JSON mapping, a face's result and a no-face one
    (JSON nulls as the messages' zero values) come back equal."""
    from service.rpc.convert import predict_response

    result = predictor.predict(VIDEO / clip).to_model()
    assert result_dict(predict_response(result, "job")) == result.model_dump(mode="json")
