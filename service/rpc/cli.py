"""`vfer stream VIDEO --target host:port`: stream a file's frames, print each window's result."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vfer.errors import InvalidOptionError, VferError


def format_window(window: object) -> str:
    from vfer_rpc.v1 import expression_pb2 as pb

    assert isinstance(window, pb.WindowResult)
    faces = (
        "  ".join(f"face {f.track_id} {f.label} {f.distribution[f.label] * 100:.0f}%" for f in window.faces)
        or "no face"
    )
    return f"window {window.index:3d}  {window.start_s:7.2f}-{window.end_s:7.2f} s  {faces}"


def _run(args: argparse.Namespace) -> int:
    import grpc

    from service.rpc.client import Client, encoded_frames, stream_requests
    from service.rpc.convert import window_result_dict

    frames = _Remembering(encoded_frames(Path(args.video), args.format))
    requests = stream_requests(
        frames,
        encoding=args.format,
        model=args.model,
        window_s=args.window,
        stride_s=args.stride,
        realtime=args.realtime,
    )
    windows = []
    with Client(args.target, api_key=args.api_key) as client:
        try:
            for window in client.stream(requests):
                windows.append(window_result_dict(window))
                if args.json:  # the HTTP result's schema, not protobuf's JSON mapping
                    print(json.dumps(windows[-1]), flush=True)
                else:
                    print(format_window(window), flush=True)
        except grpc.RpcError as exc:
            if frames.error is not None:  # our own reading failed (gRPC only says UNKNOWN): say why
                raise frames.error from None
            raise InvalidOptionError(f"{exc.code().name}: {exc.details()}") from None
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
    parser = commands.add_parser("stream", help="stream a video's frames to a gRPC server, print window results")
    parser.add_argument("video")
    parser.add_argument("--target", required=True, help="host:port of `vfer serve --grpc-port`")
    parser.add_argument("--format", choices=("jpeg", "png"), default="jpeg")
    parser.add_argument("--model", default="")
    parser.add_argument("--window", type=float, default=0.0, help="seconds (server default 2)")
    parser.add_argument("--stride", type=float, default=0.0, help="seconds (server default 1)")
    parser.add_argument("--realtime", action="store_true", help="send frames at their own pace (default: at once)")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--json", action="store_true", help="one JSON object per window")
    parser.add_argument("--plot", metavar="OUT.png", help="write each face's expression timeline as a PNG")
    parser.set_defaults(run=_run)
