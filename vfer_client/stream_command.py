"""`vfer stream VIDEO --target host:port | --ws URL`: stream a file's frames over gRPC or the
gateway's WebSocket, print each window's result."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vfer.errors import InvalidOptionError, VferError


def format_window(window: dict[str, Any]) -> str:
    faces = (
        "  ".join(
            f"face {f['track_id']} {f['label']} {f['distribution'][f['label']] * 100:.0f}%" for f in window["faces"]
        )
        or "no face"
    )
    return f"window {window['index']:3d}  {window['start_s']:7.2f}-{window['end_s']:7.2f} s  {faces}"


def _grpc_windows(args: argparse.Namespace, frames: Iterator[tuple[float, bytes]]) -> Iterator[dict[str, Any]]:
    import grpc

    from service.rpc.convert import window_result_dict
    from vfer_client.grpc_client import Client, stream_requests

    requests = stream_requests(
        frames,
        encoding=args.format,
        model=args.model,
        window_s=args.window,
        stride_s=args.stride,
        realtime=args.realtime,
    )
    with Client(args.target, api_key=args.api_key) as client:
        try:
            for window in client.stream(requests):
                yield window_result_dict(window)
        except grpc.RpcError as exc:
            raise InvalidOptionError(f"{exc.code().name}: {exc.details()}") from None


def _ws_windows(args: argparse.Namespace, frames: Iterator[tuple[float, bytes]]) -> Iterator[dict[str, Any]]:
    from websockets.exceptions import InvalidHandshake, InvalidURI

    from vfer_client.grpc_client import paced
    from vfer_client.ws_client import ws_windows

    try:
        yield from ws_windows(
            args.ws,
            paced(frames, args.realtime),
            api_key=args.api_key,
            model=args.model,
            window_s=args.window,
            stride_s=args.stride,
            format=args.format,
        )
    except (OSError, InvalidHandshake, InvalidURI) as exc:  # no server there, or not the stream's door
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidOptionError(f"--ws {args.ws}: {reason}") from None


def _run(args: argparse.Namespace) -> int:
    from vfer_client.grpc_client import encoded_frames

    frames = _Remembering(encoded_frames(Path(args.video), args.format))
    windows = []
    try:
        for window in (_ws_windows if args.ws else _grpc_windows)(args, frames):
            windows.append(window)
            # --json: the HTTP result's schema (a `streamWindow` a line), not protobuf's JSON mapping
            print(json.dumps(window) if args.json else format_window(window), flush=True)
    except VferError:
        if frames.error is not None:  # our own reading failed (the transport only says it broke): say why
            raise frames.error from None
        raise
    if args.plot:
        from vfer.plots import plot_timeline

        duration = max((w["end_s"] for w in windows), default=0.0)
        plot_timeline(faces_of(windows), duration, args.plot, title=Path(args.video).name)
        print(f"vfer: timeline written to {args.plot}", file=sys.stderr)
    return 0


def faces_of(windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stream windows regrouped by face, as the `faces` of a whole-clip result."""
    faces: dict[int, dict[str, Any]] = {}
    for window in windows:
        for face in window["faces"]:
            entry = faces.setdefault(face["track_id"], {"track_id": face["track_id"], "windows": []})
            entry["windows"].append({"start_s": window["start_s"], "end_s": window["end_s"], **face})
    return [faces[track] for track in sorted(faces)]


class _Remembering:
    """Frames that keep the error which ended them: gRPC reads requests in its own thread and
    reports any failure there as 'Exception iterating requests!'."""

    def __init__(self, frames: Iterator[tuple[float, bytes]]) -> None:
        self._frames = frames
        self.error: VferError | None = None

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        return self

    def __next__(self) -> tuple[float, bytes]:
        try:
            return next(self._frames)
        except VferError as exc:
            self.error = exc
            raise


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "stream", help="stream a video's frames live (gRPC or the /stream WebSocket), print window results"
    )
    parser.add_argument("video")
    door = parser.add_mutually_exclusive_group(required=True)
    door.add_argument("--target", help="host:port of `vfer serve --grpc-port`")
    door.add_argument("--ws", metavar="URL", help="the gateway's WebSocket, e.g. ws://127.0.0.1:8000/stream")
    parser.add_argument("--format", choices=("jpeg", "png"), default="jpeg")
    parser.add_argument("--model", default="")
    parser.add_argument("--window", type=float, default=0.0, help="seconds (server default 2)")
    parser.add_argument("--stride", type=float, default=0.0, help="seconds (server default 1)")
    parser.add_argument("--realtime", action="store_true", help="send frames at their own pace (default: at once)")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--json", action="store_true", help="one JSON object per window")
    parser.add_argument("--plot", metavar="OUT.png", help="write each face's expression timeline as a PNG")
    parser.set_defaults(run=_run)
