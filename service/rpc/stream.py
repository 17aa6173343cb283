"""StreamPredict's wire messages as the shared stream's (`service.streaming`): the config as
`StreamOptions`, each frame as a `Frame`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from service.errors import MalformedFrameError
from service.streaming import Frame
from vfer_jobs.options import FrameFormat, StreamOptions, parse
from vfer_rpc.v1 import expression_pb2 as pb

FORMAT_NAMES: dict[int, FrameFormat] = {
    pb.FRAME_FORMAT_JPEG: "jpeg",
    pb.FRAME_FORMAT_PNG: "png",
    pb.FRAME_FORMAT_GRAY: "gray",
    pb.FRAME_FORMAT_BGR: "bgr",
}


def given(message: Any, *names: str) -> dict[str, Any]:
    """The fields a wire message sets: in proto3 a zero or empty value means "the default"."""
    return {name: value for name in names if (value := getattr(message, name))}


def stream_options(config: pb.StreamConfig) -> StreamOptions:
    """The contract's options from the wire config."""
    fields = given(config, "model", "window_s", "stride_s") | {"format": FORMAT_NAMES.get(config.format, "?")}
    return parse(StreamOptions, fields)


async def stream_messages(requests: AsyncIterator[Any]) -> AsyncIterator[StreamOptions | Frame]:
    """The requests as options and frames; an undecodable request ends the stream with its error."""
    async for request in requests:
        if not isinstance(request, pb.StreamRequest):  # server.Undecodable
            raise request.error()
        if request.HasField("config"):
            yield stream_options(request.config)
        elif request.HasField("frame"):
            frame = request.frame
            yield Frame(frame.time_s, frame.data, frame.width, frame.height)
        else:
            raise MalformedFrameError("a stream message must hold a config or a frame")
