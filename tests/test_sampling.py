from __future__ import annotations

import pytest

from vfer.video.sampling import clip_indices, plan_sampling


def test_clip_takes_first_last_and_six_equally_between() -> None:
    assert clip_indices(0, 70) == [0, 10, 20, 30, 40, 50, 60, 70]
    assert clip_indices(5, 5) == [5] * 8


def test_a_video_shorter_than_a_window_is_one_paper_clip() -> None:
    plan = plan_sampling(frames=50, fps=25, window_s=2.0, stride_s=1.0)
    assert list(plan.frames) == clip_indices(0, 49)
    assert plan.windows(0, 7) == [list(range(8))]


def test_grid_step_makes_eight_points_span_one_window() -> None:
    plan = plan_sampling(frames=300, fps=30, window_s=2.0, stride_s=1.0)
    window = plan.windows(0, len(plan.frames) - 1)[0]
    first, last = plan.frames[window[0]], plan.frames[window[-1]]
    assert (last - first) / 30 == pytest.approx(2.0, abs=0.05)
    step = plan.frames[1] - plan.frames[0]
    assert 299 - plan.frames[-1] <= step / 2  # the tail is sampled to within half a step


def test_windows_stride_and_the_last_ends_on_the_last_position() -> None:
    plan = plan_sampling(frames=300, fps=30, window_s=2.0, stride_s=1.0)
    windows = plan.windows(0, len(plan.frames) - 1)
    starts = [w[0] for w in windows]
    assert all(len(w) == 8 and w == list(range(w[0], w[0] + 8)) for w in windows)
    assert starts[1] - starts[0] == plan.stride_steps == 4  # 1 s at 2/7 s a step
    assert windows[-1][-1] == len(plan.frames) - 1


def test_a_short_track_is_resampled_to_eight() -> None:
    plan = plan_sampling(frames=300, fps=30, window_s=2.0, stride_s=1.0)
    assert plan.windows(10, 13) == [[10, 10, 11, 11, 12, 12, 13, 13]]
