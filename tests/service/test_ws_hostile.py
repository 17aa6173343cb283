"""Hostile /stream clients against a real `vfer serve`: a flood of 10,000 frames a second, a
stream of garbage and a client that stops reading neither take the gateway down nor stop another
person's stream."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from service.rpc.client import encoded_frames
from service.ws_client import StreamRefused, frame_message, ws_windows
from tests.media import VIDEO
from tests.service.helpers import service_env, vfer_serve, wait_until

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
    after twice VFER_WS_PING_S (3 s here) and its stream ends, long before the 30-s idle cut, while
    another person's stream is served."""
    env = service_env(None, tmp_path / "blobs", VFER_WS_PING_S="3")
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
