"""GET /stream: a live stream over a WebSocket, the browser's door to what gRPC's StreamPredict
does (`service.streaming`, one implementation behind both).

The protocol:
- first, a text message: JSON with the stream options (`model`, `window_s`, `stride_s`, `format`
  `jpeg` or `png`), and `api_key` when keys are configured (a browser cannot set headers on a
  WebSocket; a key in the URL would be logged, so it is never read there);
- then each frame as one binary message: 8 bytes of little-endian float64 capture time in
  seconds, then the encoded image;
- the text message `{"end": true}` ends the stream: the last window is sent, then a close 1000;
- the server sends each window as a JSON text message (the result schema's `streamWindow`), in
  window order, as soon as it is complete;
- an error is one text message `{"error": {"code", "message"}}`, then a close: 1008 for what the
  client sent, 1013 when the service is overloaded, 1011 for trouble on the server.

A page on another origin, or any page on a name other than localhost, is refused at the handshake
(403) unless `VFER_WS_ORIGINS` lists its origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import AsyncIterator, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from service.auth import authenticate
from service.errors import MalformedFrameError, UploadTimeoutError, error_body, ws_close_code
from service.gateway_settings import Settings
from service.streaming import Frame, Streamer
from vfer.errors import InvalidOptionError, VferError
from vfer_jobs.options import StreamOptions, parse

router = APIRouter()
TIME_BYTES = 8  # the little-endian float64 before each frame's image
ENCODED_FORMATS = ("jpeg", "png")  # raw pixels would need a size the binary message does not carry
OPTION_FIELDS = ("model", "window_s", "stride_s", "format")


class _ClientGone(Exception):
    """The client closed the connection: nobody is left to answer."""


LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """An origin listed in VFER_WS_ORIGINS, or the gateway's own page on a loopback address; a
    client without an Origin is no browser. The Host header alone proves nothing: a page of
    evil.example whose name resolves to this machine (DNS rebinding) sends its own name as Host, so
    a same-origin page is trusted only on a loopback name, with the scheme the socket came in on."""
    origin = websocket.headers.get("origin")
    if origin is None or origin in allowed:
        return True
    page, host = urlsplit(origin), urlsplit(f"//{websocket.headers.get('host', '')}")
    scheme = {"ws": "http", "wss": "https"}.get(websocket.url.scheme)
    return page.scheme == scheme and page.netloc == host.netloc and host.hostname in LOOPBACK


async def _receive(websocket: WebSocket) -> MutableMapping[str, Any]:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise _ClientGone
    return message


async def _configuration(websocket: WebSocket, settings: Settings) -> tuple[StreamOptions, str | None]:
    """The first message: the options and the caller's key."""
    try:
        message = await asyncio.wait_for(_receive(websocket), settings.upload_idle_timeout_s)
    except TimeoutError:
        raise UploadTimeoutError(f"no configuration within {settings.upload_idle_timeout_s:g} s") from None
    text = message.get("text")
    try:
        config = json.loads(text) if text is not None else None
    except json.JSONDecodeError:
        config = None
    if not isinstance(config, dict):
        raise MalformedFrameError("the first message must be the stream configuration as a JSON object")
    owner = authenticate(config.pop("api_key", None), settings.api_keys, "api_key in the first message")
    unknown = sorted(set(config) - set(OPTION_FIELDS))
    if unknown:
        raise InvalidOptionError(f"unknown stream option(s): {', '.join(unknown)}; known: {', '.join(OPTION_FIELDS)}")
    options = parse(StreamOptions, config)
    if options.format not in ENCODED_FORMATS:
        raise InvalidOptionError(f"format must be one of {', '.join(ENCODED_FORMATS)} over a WebSocket")
    return options, owner


def _is_end(text: str | None) -> bool:
    try:
        return text is not None and json.loads(text) == {"end": True}
    except json.JSONDecodeError:
        return False


async def _messages(
    websocket: WebSocket, options: StreamOptions, settings: Settings
) -> AsyncIterator[StreamOptions | Frame]:
    """The options, then each binary message as a frame, until `{"end": true}`."""
    yield options
    largest = settings.max_frame_bytes + TIME_BYTES
    while True:
        message = await _receive(websocket)
        data = message.get("bytes")
        if data is None:
            if _is_end(message.get("text")):
                return
            raise MalformedFrameError('frames are binary messages; the only text after the first is {"end": true}')
        if len(data) > largest:
            raise MalformedFrameError(f"a frame message of {len(data)} bytes exceeds {largest}")
        if len(data) <= TIME_BYTES:
            raise MalformedFrameError("a frame message is 8 bytes of time, then the image")
        (time_s,) = struct.unpack("<d", data[:TIME_BYTES])
        yield Frame(time_s, data[TIME_BYTES:])


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    settings: Settings = websocket.app.state.settings
    if not origin_allowed(websocket, settings.ws_origins):
        await websocket.close(code=1008)  # before accepting: the handshake is answered 403
        return
    await websocket.accept()
    streamer = Streamer(settings, websocket.app.state.jobs, websocket.app.state.metrics)
    try:
        options, owner = await _configuration(websocket, settings)
        # aclosing: a client gone while a window is sent still ends the stream (its job cancelled) now
        async with contextlib.aclosing(streamer.windows(_messages(websocket, options, settings), owner)) as windows:
            async for window in windows:
                await websocket.send_text(json.dumps(window))
        await websocket.close(code=1000)
    except (_ClientGone, WebSocketDisconnect):
        return
    except VferError as exc:
        if websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # gone meanwhile: nobody to tell
                await websocket.send_text(json.dumps(error_body(exc.code, str(exc))))
                await websocket.close(code=ws_close_code(exc.code), reason=exc.code)
