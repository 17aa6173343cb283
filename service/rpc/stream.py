"""The state of one StreamPredict call: which frames to keep, when a window is complete, who is who.

Frames are kept on the sampling grid (a step of window / 7 seconds, by the frames' own times), so
8 consecutive kept frames are a paper clip; at most the last window's frames are held. Face ids
stay stable across windows by matching each window's boxes to the stream's tracks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from service.errors import MalformedFrameError
from service.framepack import PackedFrame
from vfer.errors import InvalidOptionError
from vfer_rpc.v1 import expression_pb2 as pb

CLIP_FRAMES = 8
FORMAT_NAMES = {
    pb.FRAME_FORMAT_JPEG: "jpeg",
    pb.FRAME_FORMAT_PNG: "png",
    pb.FRAME_FORMAT_GRAY: "gray",
    pb.FRAME_FORMAT_BGR: "bgr",
}
_MAGIC = {"jpeg": b"\xff\xd8\xff", "png": b"\x89PNG\r\n\x1a\n"}
_SAME_FACE_IOU = 0.3
_TRACK_MEMORY = 2  # windows a track may be missing from and keep its id


@dataclass(frozen=True)
class StreamOptions:
    model: str | None
    window_s: float
    stride_s: float
    format: str

    @classmethod
    def from_config(cls, config: pb.StreamConfig) -> StreamOptions:
        window = config.window_s or 2.0
        stride = config.stride_s or 1.0
        if not 0.2 <= window <= 60:
            raise InvalidOptionError("window_s must be between 0.2 and 60 seconds")
        if not 0 < stride <= window:
            raise InvalidOptionError("stride_s must be positive and at most window_s")
        if config.format not in FORMAT_NAMES:
            raise InvalidOptionError("format must be one of JPEG, PNG, GRAY, BGR")
        return cls(model=config.model or None, window_s=window, stride_s=stride, format=FORMAT_NAMES[config.format])


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
    _kept: list[tuple[int, int, PackedFrame]] = field(default_factory=list)  # (position, frame number, frame)
    _positions: int = 0
    _origin: float | None = None
    _last_time: float = -math.inf
    _next_grid_s: float = 0.0
    _next_start: int = 0  # grid position where the next window starts
    _windows: int = 0
    _last_end: int = -1  # last position covered by a window

    @property
    def step_s(self) -> float:
        return self.options.window_s / (CLIP_FRAMES - 1)

    @property
    def stride_steps(self) -> int:
        return max(1, round(self.options.stride_s / self.step_s))

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
        if self._origin is None:
            self._origin = frame.time_s
        relative = frame.time_s - self._origin
        if relative + 1e-6 < self._next_grid_s:
            return []
        position = self._positions
        self._positions += 1
        self._next_grid_s = (math.floor(relative / self.step_s + 1e-6) + 1) * self.step_s
        self._kept.append((position, number, packed))
        done = []
        while self._next_start + CLIP_FRAMES - 1 <= position:
            done.append(self._window(self._next_start, self._next_start + CLIP_FRAMES - 1))
            self._next_start += self.stride_steps
        keep_from = min(self._next_start, position - CLIP_FRAMES + 1)
        self._kept = [k for k in self._kept if k[0] >= keep_from]
        return done

    def finish(self) -> list[WindowFrames]:
        """At the end of the stream: a last window ending on the last kept frame, if uncovered."""
        if not self._kept or self._kept[-1][0] <= self._last_end:
            return []
        last = self._kept[-1][0]
        return [self._window(max(self._kept[0][0], last - CLIP_FRAMES + 1), last)]

    def _window(self, first: int, last: int) -> WindowFrames:
        chosen = [k for k in self._kept if first <= k[0] <= last]
        window = WindowFrames(index=self._windows, frames=[k[2] for k in chosen], first_frame=chosen[0][1])
        self._windows += 1
        self._last_end = last
        return window


@dataclass
class _StreamTrack:
    track_id: int
    box: list[int]
    last_window: int


def _iou(a: list[int], b: list[int]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


@dataclass
class StreamTracks:
    """Stream-wide face ids: a face keeps its id while its box overlaps the one it had."""

    _tracks: list[_StreamTrack] = field(default_factory=list)
    _next_id: int = 0

    def assign(self, window: int, boxes: list[list[int]]) -> list[int]:
        recent = [t for t in self._tracks if window - t.last_window <= _TRACK_MEMORY]
        pairs = sorted(
            ((_iou(t.box, b), ti, bi) for ti, t in enumerate(recent) for bi, b in enumerate(boxes)), reverse=True
        )
        ids: dict[int, int] = {}
        used: set[int] = set()
        for overlap, ti, bi in pairs:
            if overlap <= _SAME_FACE_IOU or ti in used or bi in ids:
                continue
            used.add(ti)
            ids[bi] = recent[ti].track_id
            recent[ti].box, recent[ti].last_window = boxes[bi], window
        for bi, box in enumerate(boxes):
            if bi not in ids:
                ids[bi] = self._next_id
                self._tracks.append(_StreamTrack(self._next_id, box, window))
                self._next_id += 1
        self._tracks = [t for t in self._tracks if window - t.last_window <= _TRACK_MEMORY]
        return [ids[bi] for bi in range(len(boxes))]
