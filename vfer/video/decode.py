"""Open a video from a path or bytes, refuse absurd inputs early, and yield frames with real times.

Opening runs a demux-only pass (no decoding, a few ms) that counts the frames and checks the
limits, so the face pipeline can plan its 8-frame samples before the first frame is decoded.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from vfer.config import DecodeLimits
from vfer.errors import (
    CorruptVideoError,
    EmptyInputError,
    LimitExceededError,
    NotAVideoError,
)
from vfer.sniff import SNIFF_BYTES, refusal
from vfer.video.mpegps import TAIL_BYTES, cut_off

VideoSource = str | os.PathLike[str] | bytes
GrayImage = npt.NDArray[np.uint8]

# Demuxers that hold still images: a still image is not a video, whatever its codec.
_IMAGE_FORMAT_SUFFIXES = ("_pipe", "image2")
# Demuxers that turn any bytes into pictures: FFmpeg's "tty" renders text files as ANSI art.
_TEXT_FORMATS = ("tty",)
# Text-art codecs: the bin/xbin/adf/idf demuxers (chosen by file name) read any bytes as one.
_TEXT_ART_CODECS = ("ansi", "bintext", "xbin", "idf")


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video stream, after the demux pass."""

    width: int  # as displayed, after rotation
    height: int
    fps: float
    frames: int
    duration_s: float
    codec: str
    rotation: int  # degrees counter-clockwise applied to every decoded frame

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": round(self.duration_s, 3),
            "fps": round(self.fps, 3),
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
        }


# A timestamp this far behind the last (beyond B-frame reordering) restarts the clock, as in
# files joined with `cat`; one this far ahead is a jump. Both continue from the last good time.
RESET_S = 0.5
JUMP_S = 10.0


class MonotonicClock:
    """Seconds from the video's start that never go back: a restart or a jump in the stream's
    own timestamps continues one frame after the last good time, and says it was a cut."""

    def __init__(self, frame_s: float) -> None:
        self.frame_s = frame_s
        self._offset: float | None = None
        self._last_raw = 0.0
        self._last = 0.0

    def place(self, raw_s: float) -> tuple[float, bool]:
        """(time, whether the stream's clock was cut just before this frame)."""
        cut = False
        if self._offset is None:
            self._offset = -raw_s
        elif raw_s < self._last_raw - RESET_S or raw_s > self._last_raw + JUMP_S:
            self._offset = self._last + self.frame_s - raw_s
            cut = True
        self._last_raw = raw_s
        self._last = raw_s + self._offset
        return self._last, cut


def segments(times_s: list[float]) -> list[tuple[float, float]]:
    """(first, last) timestamp of each stretch between clock cuts, from timestamps in decode order."""
    spans, low, high = [], times_s[0], times_s[0]
    for t in times_s[1:]:
        if t < high - RESET_S or t > high + JUMP_S:
            spans.append((low, high))
            low = high = t
        else:
            low, high = min(low, t), max(high, t)
    return [*spans, (low, high)]


def presentation_order(pts: list[int | None]) -> dict[int, int] | None:
    """Each packet's presentation index by its pts, when every packet has one and no two share
    one (the caller also refuses a file whose clock is cut: its frames are counted as decoded)."""
    known = [value for value in pts if value is not None]
    if not known or len(known) != len(pts) or len(set(known)) != len(known):
        return None
    return {value: index for index, value in enumerate(sorted(known))}


class Converters:
    """One swscale context per target format, kept for a whole decode: `to_ndarray(format=...)`
    sets a new one up for every frame, which cost more than decoding the frame (0.8 against
    0.1 ms to gray at 640x360). Not for two threads at once."""

    def __init__(self) -> None:
        self._gray = VideoReformatter()
        self._bgr = VideoReformatter()

    def gray(self, frame: av.VideoFrame) -> GrayImage:
        return np.asarray(self._gray.reformat(frame, format="gray").to_ndarray(), dtype=np.uint8)

    def bgr(self, frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
        return np.asarray(self._bgr.reformat(frame, format="bgr24").to_ndarray(), dtype=np.uint8)


@dataclass
class DecodedFrame:
    """One decoded frame; conversion to a gray array happens only when asked for, with the
    converters its decode shares (convert the frames of one decode from one thread at a time)."""

    index: int
    time_s: float
    frame: av.VideoFrame
    rotation: int
    cut: bool = False  # the stream's clock restarted or jumped just before this frame
    converters: Converters = field(default_factory=Converters, repr=False)

    def gray(self) -> GrayImage:
        """The frame as a C-contiguous uint8 gray image, upright."""
        return self._upright(self.converters.gray(self.frame))

    def bgr(self) -> npt.NDArray[np.uint8]:
        """The frame as a C-contiguous (H, W, 3) uint8 BGR image, upright."""
        return self._upright(self.converters.bgr(self.frame))

    def _upright(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        if self.rotation:
            image = np.rot90(image, k=self.rotation // 90)
        return np.ascontiguousarray(image)


def _input_size(source: VideoSource) -> int:
    if isinstance(source, bytes):
        return len(source)
    path = Path(source)
    if not path.exists():
        raise NotAVideoError(f"{path}: no such file")
    if not path.is_file():
        raise NotAVideoError(f"{path}: not a regular file")
    return path.stat().st_size


def _describe(source: VideoSource) -> str:
    return "upload" if isinstance(source, bytes) else str(source)


class VideoReader:
    """A video probed and checked on construction; each `frames()` call decodes it from the start."""

    def __init__(self, source: VideoSource, limits: DecodeLimits | None = None) -> None:
        self._source = source
        self._limits = limits or DecodeLimits()
        self._name = _describe(source)
        self.partial = False
        """True when decoding stopped on damaged data after at least one good frame."""
        self._order: dict[int, int] | None = None  # pts -> presentation index, where certain
        size = _input_size(source)
        if size == 0:
            raise EmptyInputError(f"{self._name}: empty file")
        if size > self._limits.max_bytes:
            raise LimitExceededError(f"{self._name}: {size} bytes exceeds the limit of {self._limits.max_bytes}")
        self.info = self._probe()

    def _open(self) -> av.container.InputContainer:
        stream: Any = io.BytesIO(self._source) if isinstance(self._source, bytes) else os.fspath(self._source)
        try:
            return av.open(stream, mode="r")
        except (av.FFmpegError, UnicodeDecodeError) as exc:
            if plain := refusal(self._head(SNIFF_BYTES)):  # text or a still: say so, as the gateway does
                raise NotAVideoError(f"{self._name}: {plain}") from exc
            reason = getattr(exc, "strerror", None) or str(exc)
            raise NotAVideoError(f"{self._name}: not a video, or damaged beyond reading ({reason})") from exc

    def _probe(self) -> VideoInfo:
        limits = self._limits
        with self._open() as container:
            if not container.streams.video:
                raise NotAVideoError(f"{self._name}: no video stream")
            stream = container.streams.video[0]
            if container.format.name in _TEXT_FORMATS:
                raise NotAVideoError(f"{self._name}: this is text, not a video")
            if stream.codec_context.name in _TEXT_ART_CODECS:
                raise NotAVideoError(f"{self._name}: not a video (no video stream, only bytes read as text art)")
            if container.format.name.endswith(_IMAGE_FORMAT_SUFFIXES):
                raise NotAVideoError(f"{self._name}: a still image is not a video")
            width, height = stream.codec_context.width, stream.codec_context.height
            if width <= 0 or height <= 0:
                raise CorruptVideoError(f"{self._name}: video stream without a frame size")
            if width * height > limits.max_pixels:
                raise LimitExceededError(
                    f"{self._name}: {width}x{height} exceeds the limit of {limits.max_pixels} pixels"
                )
            if container.duration is not None and container.duration / av.time_base > limits.max_duration_s:
                raise LimitExceededError(
                    f"{self._name}: {container.duration / av.time_base:.1f} s exceeds the limit "
                    f"of {limits.max_duration_s:.0f} s"
                )
            frames, times, pts = 0, [], []
            try:
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue
                    frames += 1
                    if frames > limits.max_frames:
                        raise LimitExceededError(f"{self._name}: more than {limits.max_frames} frames")
                    if not packet.is_discard:  # an edit list's pre-roll: demuxed, never shown
                        pts.append(packet.pts)
                    if packet.pts is not None and stream.time_base is not None:
                        times.append(float(packet.pts * stream.time_base))
            except av.FFmpegError:
                self.partial = True  # damaged tail: decode what the demuxer could read
            if stream.frames and frames < stream.frames:
                self.partial = True  # the index lists frames whose data is missing: truncated
            if container.format.name == "mpeg" and cut_off(self._tail(TAIL_BYTES)):
                self.partial = True  # a program stream has no index: its last packet was cut
            if frames < 2:
                raise NotAVideoError(f"{self._name}: a still image is not a video")
            fps = float(stream.average_rate or stream.guessed_rate or 25)
            spans = segments(times) if times else []  # more than one: the clock was cut
            covered = sum(high - low + 1.0 / fps for low, high in spans)
            duration = covered if covered > 1.0 / fps else frames / fps
            if duration > limits.max_duration_s:
                raise LimitExceededError(
                    f"{self._name}: {duration:.1f} s exceeds the limit of {limits.max_duration_s:.0f} s"
                )
            work = width * height * frames
            if work > limits.max_decoded_pixels:
                raise LimitExceededError(
                    f"{self._name}: {frames} frames of {width}x{height} are {work / 1e9:.1f} Gpixel to decode, over "
                    f"the work limit of {limits.max_decoded_pixels / 1e9:.0f} Gpixel (a shorter or smaller video fits)"
                )
            rotation, first_pts = self._first_frame()
            order = presentation_order(pts) if len(spans) == 1 else None
            self._order = order if order is not None and min(order) == first_pts else None
            if rotation in (90, 270):
                width, height = height, width
            return VideoInfo(
                width=width,
                height=height,
                fps=fps,
                frames=frames,
                duration_s=duration,
                codec=stream.codec_context.name,
                rotation=rotation,
            )

    def _head(self, size: int) -> bytes:
        """The input's first `size` bytes."""
        if isinstance(self._source, bytes):
            return self._source[:size]
        with open(self._source, "rb") as file:
            return file.read(size)

    def _tail(self, size: int) -> bytes:
        """The input's last `size` bytes."""
        if isinstance(self._source, bytes):
            return self._source[-size:]
        with open(self._source, "rb") as file:
            file.seek(max(0, os.fstat(file.fileno()).st_size - size))
            return file.read()

    def _first_frame(self) -> tuple[int, int | None]:
        """The first frame's counter-clockwise display rotation (0, 90, 180, 270), and its pts."""
        with self._open() as container:
            try:
                frame = next(iter(container.decode(container.streams.video[0])))
            except (StopIteration, av.FFmpegError) as exc:
                raise CorruptVideoError(f"{self._name}: cannot decode any frame") from exc
            return round(frame.rotation / 90.0) % 4 * 90, frame.pts

    def frames(self, needed: Callable[[int], bool] | None = None) -> Iterator[DecodedFrame]:
        """Decode every frame in presentation order, timed by a clock that never goes back; stop
        quietly (partial) on a damaged tail. With `needed` (frame index -> bool), the decoder may
        leave out frames nobody needs where no other frame depends on them (non-reference frames:
        half of a common H.264 file's); those are not yielded. Needed frames are always yielded,
        with the index, time and pixels a full decode gives them."""
        container = self._open()
        try:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"  # measured faster than frame threading here
            order = self._order if needed is not None else None
            clock = MonotonicClock(1.0 / self.info.fps)
            converters = Converters()
            index, count = -1, 0
            decoded = self._decoded(container, stream, order, needed)
            while index + 1 < self.info.frames:
                try:
                    frame = next(decoded)
                except StopIteration:
                    break
                except av.FFmpegError as exc:
                    if count == 0:
                        raise CorruptVideoError(f"{self._name}: cannot decode any frame ({exc})") from exc
                    self.partial = True
                    break
                index = order.get(frame.pts, index + 1) if order is not None and frame.pts is not None else index + 1
                if frame.width * frame.height > self._limits.max_pixels:  # the size may change mid-stream
                    raise LimitExceededError(
                        f"{self._name}: frame {index} is {frame.width}x{frame.height}, over the limit "
                        f"of {self._limits.max_pixels} pixels"
                    )
                time_s, cut = clock.place(float(frame.time) if frame.time is not None else index / self.info.fps)
                yield DecodedFrame(index, time_s, frame, self.info.rotation, cut, converters)
                count += 1
            if count == 0:
                raise CorruptVideoError(f"{self._name}: no frame could be decoded")
        finally:
            container.close()

    @staticmethod
    def _decoded(
        container: av.container.InputContainer,
        stream: av.VideoStream,
        order: dict[int, int] | None,
        needed: Callable[[int], bool] | None,
    ) -> Iterator[av.VideoFrame]:
        """The decoder's frames; where the presentation order is known, each packet of a frame
        not needed is sent with skip_frame NONREF (the decoder then drops it unless it is a
        reference frame)."""
        if order is None or needed is None:
            yield from container.decode(stream)
            return
        context = stream.codec_context
        for packet in container.demux(stream):
            position = order.get(packet.pts) if packet.pts is not None else None
            context.skip_frame = "NONREF" if position is not None and not needed(position) else "DEFAULT"
            yield from packet.decode()
