"""Hostile /stream clients against a real `vfer serve`: a flood of 10,000 frames a second, a
stream of garbage and a client that stops reading neither take the gateway down nor stop another
person's stream."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import redis
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.media import VIDEO
from tests.service.helpers import served_with_a_worker, service_env, vfer_serve, wait_until
from vfer_client.grpc_client import encoded_frames
from vfer_client.ws_client import StreamRefused, frame_message, ws_windows

GRID = VIDEO / "grid" / "bbaf2n.mpg"


def flood(url: str, out: dict[str, Any]) -> None:
    """10,000 small JPEG frames stamped 0.1 ms apart (a second of stream), sent as fast as they go."""
    tiny = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))[1].tobytes()
    with connect(url, max_size=None) as ws:
        ws.send(json.dumps({"format": "jpeg"}))
        for i in range(10_000):
            ws.send(frame_message(i / 10_000, tiny))
        ws.send(json.dumps({"end": True}))
        out["flood"] = [json.loads(m) for m in ws]
        out["flood_close"] = ws.close_code


def garbage(url: str, out: dict[str, Any]) -> None:
    try:
        list(ws_windows(url, iter([(0.0, bytes(range(256)) * 40)]), format="jpeg"))
    except StreamRefused as refused:
        out["garbage"] = refused.error_code


def test_a_flood_and_garbage_leave_the_gateway_and_another_stream_alone(embedded_url: str) -> None:
    url = embedded_url.replace("http://", "ws://") + "/stream"
    out: dict[str, Any] = {}
    hostile = [threading.Thread(target=flood, args=(url, out)), threading.Thread(target=garbage, args=(url, out))]
    for thread in hostile:
        thread.start()
    honest = list(ws_windows(url, iter(list(encoded_frames(GRID))), format="jpeg"))  # meanwhile, a real clip
    for thread in hostile:
        thread.join(timeout=300)
    assert [w["index"] for w in honest] == list(range(len(honest))) and len(honest) >= 2
    assert {f["track_id"] for w in honest for f in w["faces"]} == {0}
    assert out["garbage"] == "invalid_input"
    # The flood's second is cut on the grid like any other: a few frames kept, one window at most.
    assert out["flood_close"] == 1000 and len(out["flood"]) <= 1
    assert httpx.get(f"{embedded_url}/healthz", timeout=10).status_code == 200


def test_a_stalled_stream_ends_with_its_code_and_is_counted(broker_url: str, tmp_path: Path) -> None:
    """No worker takes the stream's windows: after VFER_STREAM_STALL_S the stream ends
    `stream_stalled`, and /metrics counts it for the alert."""
    env = service_env(
        broker_url, tmp_path / "blobs", VFER_QUEUE=f"stall-{uuid.uuid4().hex[:8]}", VFER_STREAM_STALL_S="2"
    )
    with vfer_serve(env, tmp_path / "serve.log") as url:
        with pytest.raises(StreamRefused) as refused:
            list(
                ws_windows(url.replace("http://", "ws://") + "/stream", iter(list(encoded_frames(GRID))), format="jpeg")
            )
        assert refused.value.error_code == "stream_stalled"
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
    assert "vfer_stream_stalls_total 1.0" in metrics.splitlines()


def _open_streams(http: str) -> float:
    text = httpx.get(f"{http}/metrics", timeout=10).text
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith("vfer_streams_open ")))


def test_a_client_that_stops_reading_is_let_go_and_another_stream_goes_on(tmp_path: Path, data: Path) -> None:
    """A client sends a real clip, then reads nothing, not even the gateway's pings: it is closed
    after a ping and its timeout (3 + 10 s here: VFER_STREAM_STALL_S + 5) and its stream ends,
    before the 30-s idle cut, while another person's stream is served."""
    env = service_env(None, tmp_path / "blobs", VFER_WS_PING_S="3", VFER_STREAM_STALL_S="5")
    with vfer_serve(env, tmp_path / "serve.log") as http:
        url = http.replace("http://", "ws://") + "/stream"
        frames = list(encoded_frames(GRID))
        # max_queue=1: once one message waits unread, the client stops reading its socket.
        with connect(url, max_size=None, max_queue=1, ping_interval=None) as deaf:
            deaf.send(json.dumps({"format": "jpeg"}))
            for lap in range(3):  # 9 s of stream: windows enough to fill what it reads
                for time_s, image in frames:
                    deaf.send(frame_message(lap * 3.0 + time_s, image))
            started = time.monotonic()
            honest = list(ws_windows(url, iter(frames), format="jpeg"))
            wait_until(lambda: _open_streams(http) == 0, 20, "the deaf client's stream to end")
            ended_s = time.monotonic() - started
        assert httpx.get(f"{http}/healthz", timeout=10).status_code == 200
    assert [w["index"] for w in honest] == list(range(len(honest))) and len(honest) >= 2
    assert ended_s < 25, "ended by the pings, not by the 30-s idle cut"


def _grid_laps(laps: int) -> list[tuple[float, bytes]]:
    """GRID's 3-s clip `laps` times over, its times running on."""
    frames = list(encoded_frames(GRID))
    return [(lap * 3.0 + time_s, image) for lap in range(laps) for time_s, image in frames]


def test_a_client_that_reads_is_not_closed_while_its_windows_wait(broker_url: str, tmp_path: Path) -> None:
    """The only worker stopped for 12 s (under the 30-s stall limit) while a client that answers
    every ping streams 9 s of frames: the gateway reads nothing while its windows wait, so the
    pongs wait behind the frames; with VFER_WS_PING_S=2 it closed the client 1011 "keepalive ping
    timeout". Now its windows all come once the worker goes on, and the close is 1000."""
    env = service_env(broker_url, tmp_path / "blobs", VFER_QUEUE=f"paused-{uuid.uuid4().hex[:8]}", VFER_WS_PING_S="2")
    with (
        served_with_a_worker(env, tmp_path) as (http, worker),
        connect(http.replace("http://", "ws://") + "/stream", max_size=None) as ws,
    ):
        ws.send(json.dumps({"format": "jpeg"}))
        os.killpg(worker.process.pid, signal.SIGSTOP)
        for time_s, image in _grid_laps(3):
            ws.send(frame_message(time_s, image))
        time.sleep(12)
        os.killpg(worker.process.pid, signal.SIGCONT)
        ws.send(json.dumps({"end": True}))
        windows = [json.loads(m) for m in ws]
        code = ws.close_code
    assert code == 1000 and all("error" not in w for w in windows), windows[-1:]
    assert [w["index"] for w in windows] == list(range(len(windows))) and len(windows) >= 6


def test_a_client_that_leaves_cancels_its_window_at_once(broker_url: str, tmp_path: Path, data: Path) -> None:
    """A client sends one window of 3840x2160 frames and leaves while the worker runs it: the window
    ran to its end (13.6 s) for nobody. Now its job is cancelled as the client goes."""
    env = service_env(broker_url, tmp_path / "blobs", VFER_QUEUE=f"leave-{uuid.uuid4().hex[:8]}")
    face = cv2.imread(str(data / "faces" / "london" / "neutral" / "001.jpg"))
    big = cv2.imencode(".jpg", cv2.resize(face, (3840, 2160)), [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    db = redis.Redis.from_url(broker_url)
    with served_with_a_worker(env, tmp_path) as (http, _):
        with connect(http.replace("http://", "ws://") + "/stream", max_size=None) as ws:
            ws.send(json.dumps({"format": "jpeg"}))
            for i in range(9):  # 9 frames 0.3 s apart: one window of the 2-s grid
                ws.send(frame_message(i * 0.3, big))
            wait_until(lambda: bool(db.keys("vfer-running-*")), 60, "the window to run")
        left = time.monotonic()
        wait_until(lambda: bool(db.keys("vfer-cancel-*")), 10, "the window's job to be cancelled")
        assert time.monotonic() - left < 5


def test_clients_mistakes_get_their_codes_and_leave_no_traceback_in_the_log(tmp_path: Path) -> None:
    """The issue's hostile streams against a real `vfer serve` with a key: a time jump to 1e308,
    a key that is a list, a page whose Host header names it, a client gone mid-stream. Each gets
    its JSON error and close code (or the handshake's 403); the gateway's log has no traceback."""
    env = service_env(None, tmp_path / "blobs", VFER_API_KEYS="k")
    log = tmp_path / "serve.log"
    image = next(iter(encoded_frames(GRID)))[1]
    with vfer_serve(env, log) as http:
        url = http.replace("http://", "ws://") + "/stream"

        def closing(first: str, *frames: bytes) -> tuple[list[Any], int | None]:
            with connect(url, max_size=None) as ws:
                ws.send(first)
                for frame in frames:
                    ws.send(frame)
                messages = []
                with contextlib.suppress(ConnectionClosed):
                    messages.extend(json.loads(m) for m in ws)
                return messages, ws.close_code

        jump = closing(
            json.dumps({"api_key": "k", "format": "jpeg"}), frame_message(0.0, image), frame_message(1e308, image)
        )
        assert jump[0][-1]["error"]["code"] == "invalid_input" and jump[1] == 1008
        listed = closing(json.dumps({"api_key": ["k"]}))
        assert listed[0][-1]["error"]["code"] == "unauthorized" and listed[1] == 1008
        port = http.rsplit(":", 1)[1]
        rebinding = socket.create_connection(("127.0.0.1", int(port)))  # evil.example resolving to this machine
        with pytest.raises(InvalidStatus, match="403"):
            connect(f"ws://evil.example:{port}/stream", sock=rebinding, origin=f"http://evil.example:{port}")  # type: ignore[arg-type]
        with connect(url, max_size=None) as gone:  # leaves without a word
            gone.send(json.dumps({"api_key": "k", "format": "jpeg"}))
            gone.send(frame_message(0.0, image))
        time.sleep(1.0)
        assert httpx.get(f"{http}/healthz", timeout=10).status_code == 200
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
