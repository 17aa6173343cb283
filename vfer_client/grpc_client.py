"""A small client for `vfer.v1.ExpressionService`: predict a file, or stream its frames live."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from vfer_rpc.v1 import expression_pb2 as pb
from vfer_rpc.v1 import expression_pb2_grpc as pb_grpc

ENCODINGS = {"jpeg": (pb.FRAME_FORMAT_JPEG, ".jpg"), "png": (pb.FRAME_FORMAT_PNG, ".png")}

if TYPE_CHECKING:
    from vfer.video import VideoReader


def _metadata(api_key: str | None) -> list[tuple[str, str]]:
    return [("x-api-key", api_key)] if api_key else []


def encoded_frames(path: Path, encoding: str = "jpeg") -> Iterator[tuple[float, bytes]]:
    """(time, encoded image) for every frame of a video file. The file is opened and probed
    here, so a missing file or one that is no video fails before any call is made."""
    from vfer.video import VideoReader

    return _encode(VideoReader(path), ENCODINGS[encoding][1])


def _encode(reader: VideoReader, extension: str) -> Iterator[tuple[float, bytes]]:
    import cv2

    for frame in reader.frames():
        ok, data = cv2.imencode(extension, frame.bgr())
        assert ok, "OpenCV could not encode a frame"
        yield frame.time_s, data.tobytes()


def stream_requests(
    frames: Iterator[tuple[float, bytes]],
    *,
    encoding: str = "jpeg",
    model: str = "",
    window_s: float = 0.0,
    stride_s: float = 0.0,
    realtime: bool = False,
) -> Iterator[pb.StreamRequest]:
    """The configuration, then the frames, paced at their own times when `realtime`."""
    config = pb.StreamConfig(model=model, window_s=window_s, stride_s=stride_s, format=ENCODINGS[encoding][0])
    yield pb.StreamRequest(config=config)
    for time_s, data in paced(frames, realtime):
        yield pb.StreamRequest(frame=pb.Frame(data=data, time_s=time_s))


def paced(frames: Iterator[tuple[float, bytes]], realtime: bool) -> Iterator[tuple[float, bytes]]:
    """The frames, each held back until its own time after the first when `realtime` (a camera's
    pace), else as fast as they come."""
    started = time.monotonic()
    first: float | None = None
    for time_s, data in frames:
        first = time_s if first is None else first
        if realtime:
            delay = (time_s - first) - (time.monotonic() - started)
            if delay > 0:
                time.sleep(delay)
        yield time_s, data


class Client:
    def __init__(self, target: str, *, api_key: str | None = None) -> None:
        self.channel = grpc.insecure_channel(target)
        self.stub = pb_grpc.ExpressionServiceStub(self.channel)
        self.metadata = _metadata(api_key)

    def predict(
        self, video: bytes, *, filename: str = "", timeout: float | None = None, **options: object
    ) -> pb.PredictResponse:
        request = pb.PredictRequest(video=video, filename=filename, options=pb.PredictOptions(**options))  # type: ignore[arg-type]
        response: pb.PredictResponse = self.stub.Predict(request, timeout=timeout, metadata=self.metadata)
        return response

    def stream(
        self, requests: Iterator[pb.StreamRequest], *, timeout: float | None = None
    ) -> Iterator[pb.WindowResult]:
        results: Iterator[pb.WindowResult] = self.stub.StreamPredict(requests, timeout=timeout, metadata=self.metadata)
        return results

    def list_models(self, *, timeout: float | None = None) -> pb.ListModelsResponse:
        response: pb.ListModelsResponse = self.stub.ListModels(
            pb.ListModelsRequest(), timeout=timeout, metadata=self.metadata
        )
        return response

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
