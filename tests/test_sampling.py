from __future__ import annotations

import pytest

from vfer.video.sampling import LiveGrid, clip_indices, plan_sampling


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


@pytest.mark.parametrize(("fps", "window_s", "stride_s"), [(30, 2.0, 1.0), (25, 2.0, 0.5), (30, 1.0, 1.0)])
def test_a_live_stream_is_cut_on_the_same_grid_as_a_file(fps: int, window_s: float, stride_s: float) -> None:
    frames = 10 * fps
    plan = plan_sampling(frames=frames, fps=fps, window_s=window_s, stride_s=stride_s)
    grid = LiveGrid(window_s, stride_s)
    taken: list[int] = []
    windows: list[tuple[int, int]] = []
    for index in range(frames):
        if grid.offer(index / fps) is not None:
            taken.append(index)
        windows += grid.complete()
    assert taken == list(plan.frames[: len(taken)]) and len(plan.frames) - len(taken) <= 1, "the same grid points"
    file_windows = [(w[0], w[-1]) for w in plan.windows(0, len(plan.frames) - 1)]
    assert windows == file_windows[: len(windows)]
    assert len(windows) >= len(file_windows) - 1  # the file's last window may end on its tail frame


def test_a_live_stream_that_stops_between_windows_gets_a_last_window() -> None:
    grid = LiveGrid(2.0, 1.0)
    for index in range(75):  # 2.5 s at 30 fps: one full window and a part
        grid.offer(index / 30)
        grid.complete()
    last = grid.finish()
    assert last is not None and last[1] == grid.positions - 1 and last[1] - last[0] == 7
    assert grid.finish() is None, "the tail is cut once"
