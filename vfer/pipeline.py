"""Video in, aligned 8-frame face clips out: decode, track faces on the sampling grid, window.

Decoding runs in a helper thread (PyAV and dlib both release the GIL), so on two cores face work
overlaps with decoding; only frames that the tracker needs are converted to gray, there, and the
whole-frame searches due whatever the tracker saw start from there on a thread of their own.
"""

from __future__ import annotations

import bisect
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vfer.config import ALIGNED_GRAY, CLIP_FRAMES, CropSpec, PipelineConfig
from vfer.deadline import Deadline
from vfer.face.detector import FaceDetector
from vfer.face.geometry import Box
from vfer.face.tracking import (
    ColorImage,
    FaceModels,
    PaperTracker,
    SampledTracker,
    Track,
    TrackerState,
    search_slot,
)
from vfer.video.decode import DecodedFrame, VideoInfo, VideoReader, VideoSource
from vfer.video.sampling import SamplingPlan, plan_sampling

GrayImage = npt.NDArray[np.uint8]
Clip = npt.NDArray[np.uint8]
_PREFETCH = 16  # prepared frames buffered ahead of the face work, at most
_PREFETCH_BYTES = 64 * 1024 * 1024  # and at most this much of their pictures


def prefetch_depth(width: int, height: int, *, color: bool) -> int:
    """How many prepared frames may wait for the tracker: 16 of a small video's, fewer of a large
    one's (a 4K frame in gray and BGR is 33 MB), never fewer than 2."""
    picture_bytes = width * height * (4 if color else 1)
    return max(2, min(_PREFETCH, _PREFETCH_BYTES // picture_bytes))


@dataclass
class FaceWindow:
    """One paper clip of one face: its 8 crops of each kind the models asked for, and when."""

    start_s: float
    end_s: float
    box: Box  # the face box at the window's middle frame
    clips: dict[CropSpec, Clip]  # (T=8, S, S) gray or (T=8, S, S, 3) RGB uint8, by crop

    @property
    def frames(self) -> Clip:
        """The paper's clip: 8 aligned 64x64 gray crops (what the video models take)."""
        return self.clips[ALIGNED_GRAY]


@dataclass
class FaceClips:
    """A face track and its windows."""

    track_id: int
    start_s: float
    end_s: float
    box: Box  # median box over the track
    samples: int  # grid positions where the face was found
    windows: list[FaceWindow]


@dataclass
class Extraction:
    """What the face pipeline found in one video."""

    info: VideoInfo
    faces: list[FaceClips]
    partial: bool
    timings_ms: dict[str, float] = field(default_factory=dict)


def _keep(window: FaceWindow) -> None:
    """The sink of a pipeline run whose caller takes the windows at the end."""


@dataclass
class _Clock:
    """Busy time of one stage, in seconds."""

    seconds: float = 0.0


@dataclass(frozen=True)
class Prepared:
    """A frame the tracker looks at, as the decoding thread prepared it."""

    gray: GrayImage  # from the decoder, so gray is the same whichever models run
    color: ColorImage | None  # BGR, when a model wants colour crops
    search: Future[list[Box]] | None  # this frame's whole-frame search, started ahead

    def found(self) -> list[Box] | None:
        """The faces of the search started ahead (waiting for it), or None when none was."""
        return None if self.search is None else self.search.result()


class _SearchAhead:
    """Starts, on a thread of its own, the whole-frame searches the tracker will run whatever it
    has seen: on the first frame it looks at, the first after a cut, and the first of each
    `detect_interval_s` slot (tracking.search_slot). They are a third of the face work; ahead,
    they run beside the tracker instead of in its turn."""

    def __init__(self, detector: FaceDetector | None, interval_s: float, pool: ThreadPoolExecutor) -> None:
        self._detector, self._interval_s, self._pool = detector, interval_s, pool
        self._last_slot: int | None = None  # slot of the previous looked-at frame; None: search

    def cut(self) -> None:
        self._last_slot = None

    def __call__(self, time_s: float, gray: GrayImage) -> Future[list[Box]] | None:
        slot, last = search_slot(time_s, self._interval_s), self._last_slot
        self._last_slot = slot
        if self._detector is None or (last is not None and slot <= last):
            return None
        return self._pool.submit(self._detector.detect, gray)


def _prefetch(
    frames: Iterator[DecodedFrame],
    wanted: Callable[[int], bool],
    search: _SearchAhead,
    clock: _Clock,
    *,
    color: bool,
    depth: int,
) -> Generator[tuple[DecodedFrame, Prepared | None], None, None]:
    """Decode in a thread, preparing there the frames the tracker looks at (gray, BGR for colour
    crops, searches due whatever it saw); hand over only those and the frames that cut the clock
    (the tracker needs nothing else, and each hand-over costs both threads); re-raise its errors
    here."""
    buffer: queue.Queue[tuple[DecodedFrame, Prepared | None] | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def prepare(frame: DecodedFrame) -> Prepared:
        gray = frame.gray()
        return Prepared(gray, frame.bgr() if color else None, search(frame.time_s, gray))

    def produce() -> None:
        try:
            tick = time.perf_counter()
            for frame in frames:
                if stop.is_set():
                    return
                if frame.cut:
                    search.cut()
                looked_at = wanted(frame.index)
                if not looked_at and not frame.cut:
                    continue
                item = (frame, prepare(frame) if looked_at else None)
                clock.seconds += time.perf_counter() - tick
                buffer.put(item)
                tick = time.perf_counter()
            buffer.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            buffer.put(exc)

    worker = threading.Thread(target=produce, name="vfer-decode", daemon=True)
    worker.start()
    try:
        while (item := buffer.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full buffer
            with contextlib.suppress(queue.Empty):
                buffer.get(timeout=0.05)
        worker.join()


def nearest(positions: Sequence[int], wanted: int) -> int:
    """The position nearest to `wanted` in sorted `positions` (the earlier of two as near): a
    bisection, so cutting every window of a track costs time linear in its length."""
    at = bisect.bisect_left(positions, wanted)
    return min(positions[max(0, at - 1) : at + 1], key=lambda p: (abs(p - wanted), p))


def _cut(track: Track, window: list[int], max_gap: int) -> FaceWindow | None:
    """The window's 8 crops (each position's nearest observation), or None when the face was
    away for more than `max_gap` positions inside it."""
    positions = track.positions
    chosen = [nearest(positions, q) for q in window]
    if max(abs(p - q) for p, q in zip(chosen, window, strict=True)) > max_gap:
        return None
    obs = [track.observations[p] for p in chosen]
    return FaceWindow(
        start_s=obs[0].time_s,
        end_s=obs[-1].time_s,
        box=obs[CLIP_FRAMES // 2].box,
        clips={spec: np.stack([o.crops[spec] for o in obs]) for spec in obs[0].crops},
    )


class WindowFeed:
    """Cuts a track's windows as soon as no later frame can change them, and hands each to
    `sink`, so the model runs while the video is still being decoded (and crops need not wait
    for the end). A window [s, s+7] is final once the track was seen at s+7 or later and the
    tracker has passed s+7+max_gap: no later observation can be nearer to its positions. The
    tail window (ending on the track's last position) waits for the track to end."""

    def __init__(self, plan: SamplingPlan, max_gap: int, sink: Callable[[FaceWindow], None]) -> None:
        self.plan, self.max_gap, self.sink = plan, max_gap, sink
        self._next: dict[int, int] = {}  # id(track) -> the next regular window's start position
        self._cut: dict[int, dict[int, FaceWindow | None]] = {}  # id(track) -> start -> window
        self._released: dict[int, int] = {}  # id(track) -> crops dropped before this position

    def advance(self, tracks: Sequence[Track], position: int) -> None:
        """After the tracker's work at `position`: cut every window of these tracks now final."""
        for track in tracks:
            if not track.observations:
                continue
            start = self._next.setdefault(id(track), next(iter(track.observations)))  # the first, in time order
            cut = self._cut.setdefault(id(track), {})
            while track.last_position >= start + CLIP_FRAMES - 1 and position >= start + CLIP_FRAMES - 1 + self.max_gap:
                window = _cut(track, list(range(start, start + CLIP_FRAMES)), self.max_gap)
                cut[start] = window
                if window is not None:
                    self.sink(window)
                start += self.plan.stride_steps
            self._next[id(track)] = start
            self._release(track, min(start, track.last_position - CLIP_FRAMES + 1) - self.max_gap)

    def _release(self, track: Track, before: int) -> None:
        """Drop the crops of observations before `before`: every later window starts at or after
        the next regular start or the tail's (last position - 7), and takes observations at most
        max_gap earlier. Boxes and times stay (the track's box and span need them), so memory
        does not grow with the length of a face's track."""
        done = self._released.get(id(track), 0)
        for position in range(done, before):
            observation = track.observations.get(position)
            if observation is not None:
                observation.crops = {}
        self._released[id(track)] = max(done, before)

    def windows(self, track: Track) -> list[FaceWindow]:
        """All the track's windows, in order: those cut early, and the rest cut (and sunk) now."""
        positions = track.positions
        cut = self._cut.get(id(track), {})
        windows = []
        for window in self.plan.windows(positions[0], positions[-1]):
            face_window = cut[window[0]] if window[0] in cut else _cut(track, window, self.max_gap)
            if window[0] not in cut and face_window is not None:
                self.sink(face_window)
            if face_window is not None:
                windows.append(face_window)
        return windows


def _median_box(track: Track) -> Box:
    coords = np.median([[o.box.x0, o.box.y0, o.box.x1, o.box.y1] for o in track.observations.values()], axis=0)
    return Box(*(float(c) for c in coords))


def _face_clips(track: Track, feed: WindowFeed) -> FaceClips:
    obs = [track.observations[p] for p in track.positions]
    return FaceClips(
        track_id=track.key,
        start_s=obs[0].time_s,
        end_s=obs[-1].time_s,
        box=_median_box(track),
        samples=len(obs),
        windows=feed.windows(track),
    )


def faces_in_window(
    frames: Sequence[tuple[float, GrayImage]],
    models: FaceModels,
    config: PipelineConfig,
    state: TrackerState | None = None,
    deadline: Deadline | None = None,
    colors: Sequence[ColorImage] | None = None,
) -> tuple[list[FaceClips], TrackerState]:
    """Track faces over one window whose frames are already its grid samples (a live stream's
    window, a frame folder). Each face found on enough of them gets one 8-frame window.
    `colors`: the same frames in BGR, for colour crops (without them, those are gray).

    In a stream, `state` is what its previous window left (`TrackerState()` for the first): its
    faces keep their ids and are searched for near their last boxes. Returns the faces and the
    state to pass on."""
    tracker = SampledTracker(models, config, state)
    deadline = deadline or Deadline()
    for position, (time_s, gray) in enumerate(frames):
        deadline.check()
        tracker.observe(position, position, time_s, gray, colors[position] if colors else None)
    feed = WindowFeed(
        SamplingPlan(frames=tuple(range(len(frames))), stride_steps=CLIP_FRAMES), config.max_gap_steps, _keep
    )
    clips = [_face_clips(track, feed) for track in tracker.finish()]
    return clips, tracker.state()


Progress = Callable[[float, float], None]  # (seconds of video done, its duration)
PreparedFrames = Iterator[tuple[DecodedFrame, Prepared | None]]


@dataclass
class _Following:
    """What a tracker's run over one video's prepared frames feeds and tells."""

    position_of: dict[int, int]  # frame index -> grid position
    feed: WindowFeed
    clock: _Clock  # the face work's busy time
    on_frame: Callable[[DecodedFrame], None]  # deadline and progress

    def every_frame(self, tracker: PaperTracker, frames: PreparedFrames) -> list[Track]:
        """The paper's tracker over every frame; faces are cropped at grid positions."""
        for frame, prepared in frames:
            assert prepared is not None, "the paper's tracker looks at every frame"
            self.on_frame(frame)
            tick = time.perf_counter()
            if frame.cut:
                tracker.cut()
            position = self.position_of.get(frame.index)
            tracker.step(frame.index, frame.time_s, prepared.gray, position, prepared.color, prepared.found())
            if position is not None:
                self.feed.advance(tracker.active_tracks(), position)
            self.clock.seconds += time.perf_counter() - tick
        return tracker.finish()

    def grid(self, tracker: SampledTracker, frames: PreparedFrames) -> list[Track]:
        """The default tracker over the grid frames (others come only when they cut the clock)."""
        for frame, prepared in frames:
            self.on_frame(frame)
            if frame.cut:
                tracker.cut()
            if prepared is None:
                continue
            tick = time.perf_counter()
            position = self.position_of[frame.index]
            tracker.observe(position, frame.index, frame.time_s, prepared.gray, prepared.color, prepared.found())
            self.feed.advance(tracker.active_tracks(), position)
            self.clock.seconds += time.perf_counter() - tick
        return tracker.finish()


def extract_faces(
    source: VideoSource,
    models: FaceModels,
    config: PipelineConfig | None = None,
    deadline: Deadline | None = None,
    progress: Progress | None = None,
    windows: Callable[[FaceWindow], None] | None = None,
) -> Extraction:
    """Run the face pipeline on one video; `deadline` is checked and `progress` told at every
    frame the tracker looks at; `windows` receives each window as soon as it is final (all of them, by the end)."""
    config = config or PipelineConfig()
    deadline = deadline or Deadline()
    report = progress or (lambda done, total: None)
    started = time.perf_counter()
    reader = VideoReader(source, config.limits)
    info = reader.info
    plan = plan_sampling(info.frames, info.fps, config.window_s, config.stride_s)
    position_of = {frame: pos for pos, frame in enumerate(plan.frames)}
    feed = WindowFeed(plan, config.max_gap_steps, windows or _keep)
    opened = time.perf_counter()

    def on_frame(frame: DecodedFrame) -> None:
        deadline.check()
        report(frame.time_s, info.duration_s)

    decode_clock, face_clock = _Clock(), _Clock()
    paper = config.mode == "paper"
    wanted: Callable[[int], bool] = (lambda _: True) if paper else position_of.__contains__
    pool = ThreadPoolExecutor(1, thread_name_prefix="vfer-search")
    try:
        search = _SearchAhead(models.searcher, config.detect_interval_s, pool)
        decoded = reader.frames() if paper else reader.frames(wanted)  # the sampled tracker skips frames
        # closing: on an error too, the decoding thread stops (submitting no more searches) first
        depth = prefetch_depth(info.width, info.height, color=config.color)
        prefetched = _prefetch(decoded, wanted, search, decode_clock, color=config.color, depth=depth)
        with contextlib.closing(prefetched) as prepared:
            following = _Following(position_of, feed, face_clock, on_frame)
            if paper:
                tracks = following.every_frame(PaperTracker(models, config), prepared)
            else:
                tracks = following.grid(SampledTracker(models, config), prepared)
    finally:
        pool.shutdown(cancel_futures=True)  # after an error or a cancel: searches nobody will read
    faces = [_face_clips(track, feed) for track in tracks]
    done = time.perf_counter()
    timings = {
        "probe": (opened - started) * 1e3,
        "decode": decode_clock.seconds * 1e3,  # busy time of the decode thread
        "faces": face_clock.seconds * 1e3,  # busy time of the face work, overlapping decode
        "decode_and_faces": (done - opened) * 1e3,  # wall time of both together
    }
    return Extraction(info=info, faces=faces, partial=reader.partial, timings_ms=timings)
