"""The frames of one StreamPredict call: validated as they come, cut into windows on the core's grid.

Frames are kept on the core's live sampling grid (`vfer.video.sampling.LiveGrid`: a step of
window / 7 seconds, by the frames' own times), so 8 consecutive kept frames are a paper clip; at
most the frames a future window needs are held. Faces are not tracked here: each window's job
carries the core tracker's state from the stream's previous window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from service.errors import MalformedFrameError
from vfer.jobs.framepack import PackedFrame
from vfer.jobs.imagesize import encoded_size
from vfer.jobs.options import FrameFormat, StreamOptions, parse
from vfer.video.sampling import LiveGrid
from vfer_rpc.v1 import expression_pb2 as pb

FORMAT_NAMES: dict[int, FrameFormat] = {
    pb.FRAME_FORMAT_JPEG: "jpeg",
    pb.FRAME_FORMAT_PNG: "png",
    pb.FRAME_FORMAT_GRAY: "gray",
    pb.FRAME_FORMAT_BGR: "bgr",
}
_MAGIC = {"jpeg": b"\xff\xd8\xff", "png": b"\x89PNG\r\n\x1a\n"}


def given(message: Any, *names: str) -> dict[str, Any]:
    """The fields a wire message sets: in proto3 a zero or empty value means "the default"."""
    return {name: value for name in names if (value := getattr(message, name))}


def stream_options(config: pb.StreamConfig) -> StreamOptions:
    """The contract's options from the wire config."""
    fields = given(config, "model", "window_s", "stride_s") | {"format": FORMAT_NAMES.get(config.format, "?")}
    return parse(StreamOptions, fields)


@dataclass(frozen=True)
class WindowFrames:
    """A complete window: its index, its frames and the stream number of its first frame."""

    index: int
    frames: list[PackedFrame]
    first_frame: int

    @property
    def start_s(self) -> float:
        return self.frames[0].time_s

    @property
    def end_s(self) -> float:
        return self.frames[-1].time_s


@dataclass
class FrameSampler:
    """Validates frames, keeps the grid ones, and cuts complete windows."""

    options: StreamOptions
    max_frame_bytes: int
    max_pixels: int
    _grid: LiveGrid = field(init=False)
    _kept: list[tuple[int, int, PackedFrame]] = field(default_factory=list)  # (position, frame number, frame)
    _last_time: float = -math.inf
    _windows: int = 0

    def __post_init__(self) -> None:
        self._grid = LiveGrid(self.options.window_s, self.options.stride_s)

    def _validate(self, frame: pb.Frame, number: int) -> PackedFrame:
        fmt = self.options.format
        where = f"frame {number}"
        if not frame.data:
            raise MalformedFrameError(f"{where}: no image data")
        if len(frame.data) > self.max_frame_bytes:
            raise MalformedFrameError(f"{where}: {len(frame.data)} bytes exceeds {self.max_frame_bytes}")
        if not math.isfinite(frame.time_s) or frame.time_s <= self._last_time:
            raise MalformedFrameError(f"{where}: time_s must increase (got {frame.time_s} after {self._last_time})")
        if fmt in _MAGIC:
            if not frame.data.startswith(_MAGIC[fmt]):
                raise MalformedFrameError(f"{where}: not a {fmt.upper()} image")
            size = encoded_size(frame.data, fmt)  # from the header: nothing is decoded here
            if size is None:
                raise MalformedFrameError(f"{where}: its {fmt.upper()} header does not say its size")
            if size[0] * size[1] > self.max_pixels:
                raise MalformedFrameError(
                    f"{where}: {size[0]}x{size[1]} exceeds the limit of {self.max_pixels:,} pixels a frame"
                )
            return PackedFrame(frame.time_s, fmt, 0, 0, frame.data)
        channels = 3 if fmt == "bgr" else 1
        if frame.width <= 0 or frame.height <= 0 or frame.width * frame.height > self.max_pixels:
            raise MalformedFrameError(f"{where}: raw frames need a width and height within the pixel limit")
        if len(frame.data) != frame.width * frame.height * channels:
            raise MalformedFrameError(
                f"{where}: {len(frame.data)} bytes for a {frame.width}x{frame.height} {fmt.upper()} frame "
                f"(expected {frame.width * frame.height * channels})"
            )
        return PackedFrame(frame.time_s, fmt, frame.width, frame.height, frame.data)

    def add(self, frame: pb.Frame, number: int) -> list[WindowFrames]:
        """Take one frame; returns the windows it completes (zero or one)."""
        packed = self._validate(frame, number)
        self._last_time = frame.time_s
        position = self._grid.offer(frame.time_s)
        if position is None:
            return []
        self._kept.append((position, number, packed))
        done = [self._window(first, last) for first, last in self._grid.complete()]
        self._kept = [k for k in self._kept if k[0] >= self._grid.needed_from]
        return done

    def finish(self) -> list[WindowFrames]:
        """At the end of the stream: a last window ending on the last kept frame, if uncovered."""
        last = self._grid.finish()
        return [] if last is None else [self._window(*last)]

    def _window(self, first: int, last: int) -> WindowFrames:
        chosen = [k for k in self._kept if first <= k[0] <= last]
        window = WindowFrames(index=self._windows, frames=[k[2] for k in chosen], first_frame=chosen[0][1])
        self._windows += 1
        return window
