"""Live streams, whatever carries them: gRPC's `StreamPredict` and the `/stream` WebSocket are two
doors on this one implementation.

A transport turns its messages into `StreamOptions` (first, once) and `Frame`s, and sends on what
`Streamer.windows` yields: each complete window as the result schema's `streamWindow` dict, in
window order. Frames are kept on the core's live sampling grid (`vfer.video.sampling.LiveGrid`: a
step of window / 7 seconds, by the frames' own times), so 8 consecutive kept frames are a paper
clip; at most the frames a future window needs are held. Each window becomes one job on the
workers, one after the other, carrying the core tracker's state from the previous window's
result, so a face keeps its id and a window searches near known faces. What a stream holds is
bounded: `stream_max_pending` complete windows waiting (past that, reading stops and the
transport's flow control slows the client); a window no worker finishes within
`stream_stall_s` ends the stream with `stream_stalled`; a client silent for
`upload_idle_timeout_s` ends it with `upload_timeout`. Errors are `VferError`s; each transport
maps their codes in its one place.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from service.auth import new_job_id
from service.errors import MalformedFrameError, StreamStalledError, UploadTimeoutError
from service.gateway_settings import Settings
from service.jobs import JobClient, JobStatus, cancel_in_background, submit_with_blob, wait_for
from service.metrics import Metrics
from vfer.labels import LABELS
from vfer.result import StreamFace, StreamWindow
from vfer.video.sampling import LiveGrid
from vfer_jobs.contract import PREDICT_WINDOW_TASK
from vfer_jobs.framepack import PackedFrame, pack
from vfer_jobs.imagesize import encoded_size
from vfer_jobs.options import StreamOptions, WindowJob
from vfer_jobs.tracing import JOB_ID, span

# Capture times beyond ±30 years are no clock's: a jump to 1e308 overflowed the sampling grid.
MAX_TIME_S = 1e9
_MAGIC = {"jpeg": b"\xff\xd8\xff", "png": b"\x89PNG\r\n\x1a\n"}
_END = object()


@dataclass(frozen=True)
class Frame:
    """One frame as sent: an encoded image (JPEG, PNG) or raw pixels (gray, BGR: with their size)."""

    time_s: float
    data: bytes
    width: int = 0
    height: int = 0


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

    def _validate(self, frame: Frame, number: int) -> PackedFrame:
        fmt = self.options.format
        where = f"frame {number}"
        if not frame.data:
            raise MalformedFrameError(f"{where}: no image data")
        if len(frame.data) > self.max_frame_bytes:
            raise MalformedFrameError(f"{where}: {len(frame.data)} bytes exceeds {self.max_frame_bytes}")
        if not math.isfinite(frame.time_s) or abs(frame.time_s) > MAX_TIME_S:
            raise MalformedFrameError(f"{where}: time_s must be a number of seconds within ±{MAX_TIME_S:.0e}")
        if frame.time_s <= self._last_time:
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

    def add(self, frame: Frame, number: int) -> list[WindowFrames]:
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


def stream_window(window: WindowFrames, faces: list[dict[str, Any]]) -> dict[str, Any]:
    """The result's `StreamWindow`: what `vfer stream --json` prints and `/stream` sends."""
    return StreamWindow(
        index=window.index,
        start_s=round(window.start_s, 3),
        end_s=round(window.end_s, 3),
        labels=list(LABELS),  # type: ignore[arg-type]
        faces=[
            StreamFace(track_id=f["track_id"], box=f["box"], distribution=f["distribution"], label=f["label"])
            for f in faces
        ],
    ).model_dump(mode="json")


class Streamer:
    """Runs streams on the workers: `windows(messages, owner)` for each one."""

    def __init__(self, settings: Settings, jobs: JobClient, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.jobs = jobs
        self.metrics = metrics  # counts open and stalled streams

    async def windows(
        self, messages: AsyncIterator[StreamOptions | Frame], owner: str | None
    ) -> AsyncGenerator[dict[str, Any]]:
        """Each complete window's result, in order. `messages` is the options first, then frames;
        a transport error raised while reading it ends the stream with that error."""
        ready: asyncio.Queue[Any] = asyncio.Queue(maxsize=self.settings.stream_max_pending)
        broken = asyncio.Event()  # the client went away or sent something wrong
        reader = asyncio.create_task(self._read(messages, ready, broken))
        in_flight: str | None = None
        if self.metrics is not None:
            self.metrics.streams_open.inc()
        try:
            tracks: dict[str, Any] = {}  # the core tracker's state after the last window
            while (item := await ready.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                window, options = item
                in_flight = new_job_id(owner)
                job = WindowJob(options=options, first_frame=window.first_frame, tracks=tracks)
                with span("vfer.stream_window", **{"vfer.window": window.index, JOB_ID: in_flight}):
                    await submit_with_blob(self.jobs, PREDICT_WINDOW_TASK, in_flight, pack(window.frames), job)
                    status = await self._wait_unless_broken(in_flight, broken)
                if status is None:  # the client left (or broke the stream) while its window ran
                    raise await _error_of(ready)
                if not status.finished:
                    if self.metrics is not None:
                        self.metrics.stream_stalls.inc()
                    raise StreamStalledError(
                        f"window {window.index} was not done within {self.settings.stream_stall_s:.0f} s"
                    )
                in_flight = None
                result = status.outcome()
                tracks = result["tracks"]
                yield stream_window(window, result["faces"])
        finally:
            reader.cancel()
            if in_flight is not None:
                cancel_in_background(self.jobs, in_flight)
            if self.metrics is not None:
                self.metrics.streams_open.dec()

    async def _wait_unless_broken(self, job_id: str, broken: asyncio.Event) -> JobStatus | None:
        """The window's job status once it is done or the stall limit passes; None as soon as the
        client breaks the stream meanwhile (the caller cancels the job at once: nobody will read it)."""
        waiting = asyncio.ensure_future(wait_for(self.jobs, job_id, self.settings.stream_stall_s))
        watching = asyncio.ensure_future(broken.wait())
        try:
            await asyncio.wait({waiting, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watching.cancel()
        if waiting.done():
            return waiting.result()
        waiting.cancel()
        return None

    async def _read(
        self, messages: AsyncIterator[StreamOptions | Frame], ready: asyncio.Queue[Any], broken: asyncio.Event
    ) -> None:
        """Read the stream and queue each complete window; ends with _END or the error (and
        `broken` set, so that a window in flight is not waited for)."""
        try:
            sampler: FrameSampler | None = None
            number = 0
            idle_s = self.settings.upload_idle_timeout_s
            incoming = aiter(messages)
            while True:
                try:  # a client that sends nothing is not held forever, as an idle upload is not
                    message = await asyncio.wait_for(anext(incoming), idle_s)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise UploadTimeoutError(f"the stream sent nothing for {idle_s:g} s") from None
                if isinstance(message, StreamOptions):
                    if sampler is not None:
                        raise MalformedFrameError("the stream configuration may be sent only once, first")
                    self.settings.check_model_name(message.model)  # refused at config time, not per window
                    sampler = FrameSampler(message, self.settings.max_frame_bytes, self.settings.max_pixels)
                    continue
                if sampler is None:
                    raise MalformedFrameError("the first message must be the stream configuration")
                for window in sampler.add(message, number):
                    await ready.put((window, sampler.options))  # blocks while stream_max_pending windows wait
                number += 1
            if sampler is not None:
                for window in sampler.finish():
                    await ready.put((window, sampler.options))
            await ready.put(_END)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            broken.set()
            _put_error(ready, exc)


def _put_error(ready: asyncio.Queue[Any], error: BaseException) -> None:
    """The stream's error, queued even where windows fill the queue: they will not be sent."""
    while True:
        try:
            ready.put_nowait(error)
            return
        except asyncio.QueueFull:
            ready.get_nowait()


async def _error_of(ready: asyncio.Queue[Any]) -> BaseException:
    """The error that broke the stream: the last thing queued."""
    while not isinstance(item := await ready.get(), BaseException):
        pass
    return item
