"""A client for the `/stream` WebSocket (`vfer stream --ws URL`): the same protocol a browser page
speaks, from a terminal (see `service.routes.stream`)."""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterator
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from vfer.errors import InvalidOptionError


class StreamRefused(InvalidOptionError):
    """The server ended the stream with an error message (its code and text) and a close."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.error_code = code


def frame_message(time_s: float, image: bytes) -> bytes:
    """One frame as sent: 8 bytes little-endian float64 time, then the encoded image."""
    return struct.pack("<d", time_s) + image


def _send_all(
    connection: ClientConnection,
    config: dict[str, Any],
    frames: Iterator[tuple[float, bytes]],
    failed: list[BaseException],
) -> None:
    try:
        connection.send(json.dumps(config))
        for time_s, image in frames:
            connection.send(frame_message(time_s, image))
        connection.send(json.dumps({"end": True}))
    except ConnectionClosed:
        pass  # the server ended the stream: the receiving side reads why
    except BaseException as exc:  # the frames' own failure (an unreadable file): close, then re-raise
        failed.append(exc)
        connection.close()


def ws_windows(
    url: str, frames: Iterator[tuple[float, bytes]], *, api_key: str | None = None, **options: Any
) -> Iterator[dict[str, Any]]:
    """Each window the server sends (the schema's `streamWindow`), in order, while a thread sends
    the configuration (the options given, and the key), the frames, and the end."""
    config = {k: v for k, v in options.items() if v} | ({"api_key": api_key} if api_key else {})
    with connect(url, max_size=None) as connection:
        failed: list[BaseException] = []
        sender = threading.Thread(target=_send_all, args=(connection, config, frames, failed), daemon=True)
        sender.start()
        try:
            for message in connection:
                body = json.loads(message)
                if "error" in body:
                    raise StreamRefused(body["error"]["code"], body["error"]["message"])
                yield body
        finally:
            sender.join(timeout=5)
        if failed:
            raise failed[0]
