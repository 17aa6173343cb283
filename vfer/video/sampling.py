"""Where the 8 frames of each clip come from (paper section III-A): first, last, 6 equally between.

A video is sampled on one regular grid whose step is a window's length / 7, so that any 8
consecutive grid points form a paper clip and overlapping windows share their face work. Files
are planned whole (`plan_sampling`); live streams are cut as frames arrive (`LiveGrid`), on the
same step and stride. Pure Python: the gateway cuts streams with it and imports no numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vfer.config import CLIP_FRAMES

_EPS = 1e-6


def clip_indices(first: int, last: int, count: int = CLIP_FRAMES) -> list[int]:
    """`count` indices from first to last inclusive at equal intervals (repeats when short)."""
    if last < first:
        raise ValueError(f"last ({last}) must not precede first ({first})")
    if count == 1:
        return [first]
    return [round(first + (last - first) * k / (count - 1)) for k in range(count)]


def grid_step_s(window_s: float) -> float:
    """Seconds between grid points: 8 consecutive points span one window."""
    return window_s / (CLIP_FRAMES - 1)


def stride_steps(window_s: float, stride_s: float) -> int:
    """Grid points between window starts (the stride rounded to whole steps, at least one)."""
    return max(1, round(stride_s / grid_step_s(window_s)))


@dataclass(frozen=True)
class SamplingPlan:
    """The frames the face pipeline looks at, and how windows of them are formed."""

    frames: tuple[int, ...]  # frame index of each grid position, strictly increasing
    stride_steps: int  # grid positions between window starts

    def windows(self, first: int, last: int) -> list[list[int]]:
        """Windows (each CLIP_FRAMES grid positions) covering positions first..last."""
        span = last - first + 1
        if span <= CLIP_FRAMES:
            return [clip_indices(first, last)]
        starts = list(range(first, last - CLIP_FRAMES + 2, self.stride_steps))
        if starts[-1] + CLIP_FRAMES - 1 < last:
            starts.append(last - CLIP_FRAMES + 1)  # the last window ends on the last position
        return [list(range(s, s + CLIP_FRAMES)) for s in starts]


def plan_sampling(frames: int, fps: float, window_s: float, stride_s: float) -> SamplingPlan:
    """Plan the grid for a video of `frames` frames; a video within one window is one paper clip.

    A longer video is sampled by the live stream's grid (`LiveGrid`) run over its frame times, so
    a file and a stream of the same frames are cut alike."""
    if frames <= max(2, round(window_s * fps)):
        grid = sorted(set(clip_indices(0, frames - 1)))
        return SamplingPlan(frames=tuple(grid), stride_steps=CLIP_FRAMES)
    live = LiveGrid(window_s, stride_s)
    taken = [index for index in range(frames) if live.offer(index / fps) is not None]
    if (frames - 1 - taken[-1]) / fps >= grid_step_s(window_s) / 2:
        taken.append(frames - 1)  # keep the tail: the last step is a little shorter
    return SamplingPlan(frames=tuple(taken), stride_steps=stride_steps(window_s, stride_s))


@dataclass
class LiveGrid:
    """The sampling grid of a stream whose length is unknown: frames are offered in time order.

    A frame becomes the next grid position when it is the first at or after the next grid time;
    a window is complete once its 8th position arrives. `finish` cuts one last window ending on
    the last position when the stream stopped between two windows.
    """

    window_s: float
    stride_s: float
    positions: int = 0  # grid positions taken so far
    _origin: float | None = None
    _next_time: float = 0.0
    _next_start: int = 0  # position where the next window starts
    _last_end: int = -1  # last position covered by a window
    _cut: list[tuple[int, int]] = field(default_factory=list)

    def offer(self, time_s: float) -> int | None:
        """The grid position this frame takes, or None when it falls between two grid times."""
        if self._origin is None:
            self._origin = time_s
        relative = time_s - self._origin
        if relative + _EPS < self._next_time:
            return None
        step = grid_step_s(self.window_s)
        self._next_time = (math.floor(relative / step + _EPS) + 1) * step
        self.positions += 1
        return self.positions - 1

    def complete(self) -> list[tuple[int, int]]:
        """Windows (first, last position) completed since the last call."""
        done = []
        while self._next_start + CLIP_FRAMES - 1 < self.positions:
            first = self._next_start
            done.append((first, first + CLIP_FRAMES - 1))
            self._last_end = first + CLIP_FRAMES - 1
            self._next_start += stride_steps(self.window_s, self.stride_s)
        return done

    def finish(self) -> tuple[int, int] | None:
        """At the end: a last window ending on the last position, if that position is uncovered."""
        last = self.positions - 1
        if last <= self._last_end:
            return None
        self._last_end = last
        return max(0, last - CLIP_FRAMES + 1), last

    @property
    def needed_from(self) -> int:
        """The first position a future window can contain: earlier frames may be dropped."""
        return min(self._next_start, max(0, self.positions - CLIP_FRAMES))
