"""Where the 8 frames of each clip come from (paper section III-A): first, last, 6 equally between.

A video is sampled on one regular grid whose step is a window's length / 7, so that any 8
consecutive grid points form a paper clip and overlapping windows share their face work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vfer.config import CLIP_FRAMES


def clip_indices(first: int, last: int, count: int = CLIP_FRAMES) -> list[int]:
    """`count` indices from first to last inclusive at equal intervals (repeats when short)."""
    if last < first:
        raise ValueError(f"last ({last}) must not precede first ({first})")
    return [int(i) for i in np.rint(np.linspace(first, last, count))]


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
    """Plan the grid for a video of `frames` frames; a video within one window is one paper clip."""
    window_frames = max(2, round(window_s * fps))
    if frames <= window_frames:
        grid = sorted(set(clip_indices(0, frames - 1)))
        return SamplingPlan(frames=tuple(grid), stride_steps=CLIP_FRAMES)
    step = (window_frames - 1) / (CLIP_FRAMES - 1)
    grid = [round(k * step) for k in range(int((frames - 1) / step) + 1)]
    if frames - 1 - grid[-1] >= step / 2:
        grid.append(frames - 1)  # keep the tail: the last step is a little shorter
    stride_steps = max(1, round(stride_s * fps / step))
    return SamplingPlan(frames=tuple(grid), stride_steps=stride_steps)
