"""The /stream WebSocket: the browser's door to live streams, on the same stream code as gRPC's
StreamPredict; real Redis, a real worker process, real frames of a real clip."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from service.app import create_app
from service.gateway_settings import Settings
from service.rpc.convert import window_result_dict
from tests.media import VIDEO
from tests.schema import assert_stream_window
from tests.service.helpers import Worker
from vfer_client.grpc_client import Client, encoded_frames, stream_requests
from vfer_client.ws_client import frame_message

GRID = VIDEO / "grid" / "bbaf2n.mpg"


def receive_until_closed(ws: Any) -> tuple[list[dict[str, Any]], int]:
    """Every text message (parsed) until the server closes, and the close code."""
    messages = []
    while True:
        message = ws.receive()
        if message["type"] == "websocket.close":
            return messages, message["code"]
        messages.append(json.loads(message["text"]))


def ws_stream(client: TestClient, first: str, frames: list[bytes], **headers: str) -> tuple[list[dict[str, Any]], int]:
    with client.websocket_connect("/stream", headers=headers) as ws:
        ws.send_text(first)
        for frame in frames:
            ws.send_bytes(frame)
        ws.send_text(json.dumps({"end": True}))
        return receive_until_closed(ws)


def messages(frames: list[tuple[float, bytes]]) -> list[bytes]:
    return [frame_message(t, image) for t, image in frames]


@pytest.fixture(scope="module")
def frames() -> list[tuple[float, bytes]]:
    """(time, JPEG) of every frame of a real clip: 3 s at 25 fps."""
    return list(encoded_frames(GRID))


@pytest.fixture(scope="module")
def grpc_windows(grpc_target: str, frames: list[tuple[float, bytes]]) -> list[dict[str, Any]]:
    """The same frames over gRPC, on the same worker: what the WebSocket must agree with."""
    with Client(grpc_target) as client:
        return [window_result_dict(w) for w in client.stream(stream_requests(iter(frames)), timeout=120)]


def test_windows_come_in_order_with_one_track_and_the_labels_grpc_gives(
    client: TestClient, grpc_windows: list[dict[str, Any]], frames: list[tuple[float, bytes]]
) -> None:
    windows, code = ws_stream(client, json.dumps({"format": "jpeg"}), messages(frames))
    assert code == 1000
    assert [w["index"] for w in windows] == list(range(len(windows))) and len(windows) >= 2
    for window in windows:
        assert_stream_window(window)
    assert {face["track_id"] for w in windows for face in w["faces"]} == {0}  # one person, one id
    assert len(windows) == len(grpc_windows)
    for ours, theirs in zip(windows, grpc_windows, strict=True):
        assert (ours["start_s"], ours["end_s"]) == (theirs["start_s"], theirs["end_s"])
        assert [f["label"] for f in ours["faces"]] == [f["label"] for f in theirs["faces"]]
        for mine, other in zip(ours["faces"], theirs["faces"], strict=True):
            assert mine["box"] == other["box"]
            assert mine["distribution"] == pytest.approx(other["distribution"], abs=1e-5)


JPEG = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8))[1].tobytes()
BAD_INPUT = {
    "a first message that is no JSON object": ("model=x", [], "invalid_input"),
    "an unknown model": (json.dumps({"model": "no_such_model"}), [], "model_not_found"),
    "an unknown option": (json.dumps({"colour": "red"}), [], "invalid_option"),
    "raw frames, which carry no size here": (json.dumps({"format": "gray"}), [], "invalid_option"),
    "a frame that is no JPEG": ("{}", [frame_message(0.0, b"GIF89a" + bytes(100))], "invalid_input"),
    "a frame with no image after its time": ("{}", [b"\x00" * 8], "invalid_input"),
    "times that go backwards": ("{}", [frame_message(1.0, JPEG), frame_message(0.5, JPEG)], "invalid_input"),
    # A jump past any clock overflowed the sampling grid: close 1006, a traceback, gRPC UNKNOWN.
    "a time that jumps to 1e308": ("{}", [frame_message(0.0, JPEG), frame_message(1e308, JPEG)], "invalid_input"),
    "times from -1e308 to 1e308": ("{}", [frame_message(-1e308, JPEG), frame_message(1e308, JPEG)], "invalid_input"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_gets_one_error_message_then_a_policy_close(client: TestClient, case: str) -> None:
    first, frames, code = BAD_INPUT[case]
    received, close = ws_stream(client, first, frames)
    assert received == [{"error": {"code": code, "message": received[0]["error"]["message"]}}]
    assert close == 1008


def test_text_where_a_frame_belongs_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/stream") as ws:
        ws.send_text("{}")
        ws.send_text("a frame")
        received, close = receive_until_closed(ws)
    assert received[0]["error"]["code"] == "invalid_input" and "binary" in received[0]["error"]["message"]
    assert close == 1008


@pytest.fixture(scope="module")
def keyed_client(settings: Settings, worker: Worker) -> Iterator[TestClient]:
    strict = settings.model_copy(update={"api_keys": ["k-123"], "max_frame_bytes": 1000})
    with TestClient(create_app(strict)) as test_client:
        yield test_client


def test_a_key_is_read_from_the_first_message_never_the_url(keyed_client: TestClient) -> None:
    received, close = ws_stream(keyed_client, "{}", [])
    assert received[0]["error"]["code"] == "unauthorized" and close == 1008
    received, close = ws_stream(keyed_client, json.dumps({"api_key": "wrong"}), [])
    assert received[0]["error"]["code"] == "unauthorized"
    with keyed_client.websocket_connect("/stream?api_key=k-123") as ws:
        ws.send_text("{}")
        assert receive_until_closed(ws)[0][0]["error"]["code"] == "unauthorized"
    received, close = ws_stream(keyed_client, json.dumps({"api_key": "k-123"}), [])
    assert (received, close) == ([], 1000)  # let in; no frames, no windows


def test_a_frame_over_the_byte_limit_is_refused(keyed_client: TestClient) -> None:
    received, close = ws_stream(keyed_client, json.dumps({"api_key": "k-123"}), [frame_message(0.0, JPEG)])
    assert len(JPEG) > 1000
    assert received[0]["error"]["code"] == "invalid_input" and "exceeds" in received[0]["error"]["message"]
    assert close == 1008


def test_a_page_from_another_origin_is_refused_at_the_handshake(client: TestClient) -> None:
    elsewhere = {"origin": "https://elsewhere.example"}
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/stream", headers=elsewhere):
        pass
    assert refused.value.code == 1008
    own = client.websocket_connect("ws://127.0.0.1:8140/stream", headers={"origin": "http://127.0.0.1:8140"})
    with own as ws:  # the page's own origin, on a loopback address
        ws.send_text("{}")
        ws.send_text(json.dumps({"end": True}))
        assert receive_until_closed(ws) == ([], 1000)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("ws://evil.example:8140/stream", "http://evil.example:8140"),  # DNS rebinding: Host is the page's name
        ("ws://127.0.0.1:8140/stream", "https://127.0.0.1:8140"),  # an https page against an http socket
    ],
)
def test_a_host_header_that_matches_the_origin_proves_nothing(client: TestClient, url: str, origin: str) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(url, headers={"origin": origin}):
        pass
    assert refused.value.code == 1008


def test_a_key_that_is_no_string_is_refused_with_its_code(keyed_client: TestClient) -> None:
    """`{"api_key": ["k"]}` raised AttributeError: close 1006 and a traceback in the log."""
    received, close = ws_stream(keyed_client, json.dumps({"api_key": ["k-123"]}), [])
    assert received[0]["error"]["code"] == "unauthorized" and "must be a string" in received[0]["error"]["message"]
    assert close == 1008


def test_vfer_stream_ws_prints_the_windows_of_a_real_server(embedded_url: str, tmp_path: Path) -> None:
    url = embedded_url.replace("http://", "ws://") + "/stream"
    run = subprocess.run(
        [sys.executable, "-m", "vfer.cli", "stream", str(GRID), "--ws", url, "--json", "--plot", str(tmp_path / "t.png")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    windows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [w["index"] for w in windows] == list(range(len(windows))) and len(windows) >= 2
    for window in windows:
        assert_stream_window(window)
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_vfer_stream_ws_to_a_wrong_path_says_so_in_one_line(embedded_url: str) -> None:
    """A 403 at the handshake printed a traceback and exited 1."""
    url = embedded_url.replace("http://", "ws://") + "/nowhere"
    run = subprocess.run(
        [sys.executable, "-m", "vfer.cli", "stream", str(GRID), "--ws", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert run.stderr.startswith(f"vfer: error: --ws {url}: ") and "403" in run.stderr


def test_the_server_refuses_an_oversized_message_before_buffering_it(embedded_url: str) -> None:
    url = embedded_url.replace("http://", "ws://") + "/stream"
    with connect(url, max_size=None) as ws:
        ws.send("{}")
        ws.send(frame_message(0.0, bytes(9 * 1024 * 1024)))  # over the 8 MiB frame limit
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # "message too big"
