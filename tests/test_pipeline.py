from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.counting import CountingDetector
from tests.media import VIDEO
from vfer.config import ALIGNED_GRAY, CropSpec, PipelineConfig
from vfer.face.detector import FaceDetector
from vfer.face.tracking import FaceModels
from vfer.pipeline import extract_faces, prefetch_depth
from vfer.video import VideoReader

GRID_CLIPS = sorted((VIDEO / "grid").glob("*.mpg"))
STEP_S = 2.0 / 7  # the default sampling step


def scene_cut_s(path: Path) -> float:
    """Time of the hard cut in a spliced clip: the largest change between consecutive frames.

    Independent of the face detector, so it can judge where tracks start and end."""
    frames = [(f.time_s, f.gray().astype(np.int16)) for f in VideoReader(path).frames()]
    inner = range(len(frames) // 10, len(frames) * 9 // 10)
    i = max(inner, key=lambda k: np.abs(frames[k + 1][1] - frames[k][1]).mean())
    return frames[i + 1][0]


@pytest.mark.parametrize("mode", ["fast", "paper"])
def test_single_face_gives_one_track_with_windows(face_models: FaceModels, data: Path, mode: str) -> None:
    found = extract_faces(VIDEO / "single_face.mp4", face_models, PipelineConfig(mode=mode))
    assert len(found.faces) == 1
    face = found.faces[0]
    assert face.start_s == 0.0 and face.end_s > 2.0
    assert face.windows and all(w.frames.shape == (8, 64, 64) for w in face.windows)
    x, _, w, _ = face.box.to_xywh()
    assert 120 < w < 220 and 0 < x < 640 - w  # a face-sized box inside the 640x360 frame


@pytest.mark.parametrize("mode", ["fast", "paper"])
def test_each_crop_a_model_declares_is_made_and_the_gray_path_is_unchanged(
    face_models: FaceModels, data: Path, mode: str
) -> None:
    """Aligned gray crops for the video models and colour face-box crops for face-api's net, from
    one pass; asking for colour changes nothing of the gray crops."""
    box_rgb = CropSpec("box", 112, color=True)
    both = extract_faces(
        VIDEO / "single_face.mp4", face_models, PipelineConfig(mode=mode, crops=(ALIGNED_GRAY, box_rgb))
    )
    gray = extract_faces(VIDEO / "single_face.mp4", face_models, PipelineConfig(mode=mode))
    [face], [gray_face] = both.faces, gray.faces
    for window, gray_window in zip(face.windows, gray_face.windows, strict=True):
        assert window.clips[box_rgb].shape == (8, 112, 112, 3)
        np.testing.assert_array_equal(window.frames, gray_window.frames)
        red, blue = window.clips[box_rgb][..., 0].astype(float), window.clips[box_rgb][..., 2].astype(float)
        assert red.mean() > blue.mean() + 5  # skin: RGB order, not the decoder's BGR
    assert list(face.windows[0].clips) == [ALIGNED_GRAY, box_rgb]


def test_face_then_no_face_ends_the_track_at_the_cut(face_models: FaceModels, data: Path) -> None:
    path = VIDEO / "face_noface.mov"
    cut = scene_cut_s(path)
    found = extract_faces(path, face_models)
    assert len(found.faces) == 1
    assert cut - 2 * STEP_S <= found.faces[0].end_s < cut


def test_no_face_then_face_starts_the_track_at_the_cut(face_models: FaceModels, data: Path) -> None:
    path = VIDEO / "noface_face.mov"
    cut = scene_cut_s(path)
    found = extract_faces(path, face_models)
    assert len(found.faces) == 1
    assert cut <= found.faces[0].start_s <= cut + 2 * STEP_S


def test_animation_without_a_human_face_has_no_track(face_models: FaceModels, data: Path) -> None:
    assert extract_faces(VIDEO / "no_face.mp4", face_models).faces == []


@pytest.mark.parametrize("clip", GRID_CLIPS, ids=lambda p: p.stem)
def test_each_grid_speaker_is_one_face(face_models: FaceModels, clip: Path) -> None:
    found = extract_faces(clip, face_models)
    assert len(found.faces) == 1
    assert found.faces[0].end_s - found.faces[0].start_s > 2.0


def test_grid_has_eleven_clips(data: Path) -> None:
    assert len(GRID_CLIPS) == 11


def test_two_people_side_by_side_get_two_stable_tracks(face_models: FaceModels, data: Path) -> None:
    from tests.media import encode

    left = [f.gray() for f in VideoReader(VIDEO / "single_face.mp4").frames()]
    right = [f.gray() for f in VideoReader(VIDEO / "grid" / "bbaf2n.mpg").frames()]
    frames = []
    for i in range(60):
        canvas = np.zeros((360, 1000), np.uint8)
        canvas[:, :640] = left[i]
        canvas[36:324, 640:] = right[i]
        frames.append(canvas)
    found = extract_faces(encode(frames, fps=30), face_models)
    assert len(found.faces) == 2
    centres = sorted(f.box.x0 + f.box.width / 2 for f in found.faces)
    assert centres[0] < 640 < centres[1]
    assert all(f.samples == 8 for f in found.faces)  # each followed on every sample, none swapped


@pytest.mark.parametrize("mode", ["fast", "paper"])
def test_windows_are_handed_on_while_the_video_is_still_decoding(
    face_models: FaceModels, data: Path, tmp_path: Path, mode: str
) -> None:
    """So the model runs alongside decoding: most windows leave before the end, none twice, and
    the windows handed on are exactly the extraction's (the same as cutting them all at the end)."""
    from benchmarks.clips import make_long_clip

    clip = make_long_clip(VIDEO / "single_face.mp4", 12.0, tmp_path / "long.mp4")
    decoded_to = [0.0]
    handed: list[tuple[float, object]] = []
    extraction = extract_faces(
        clip,
        face_models,
        PipelineConfig(mode=mode),  # type: ignore[arg-type]
        progress=lambda done, total: decoded_to.__setitem__(0, done),
        windows=lambda window: handed.append((decoded_to[0], window)),
    )
    windows = [w for face in extraction.faces for w in face.windows]
    assert len(windows) >= 10
    assert sorted(map(id, windows)) == sorted(id(w) for _, w in handed), "every window, each once"
    early = [at for at, _ in handed if at < 11.0]
    assert len(early) >= len(windows) - 2, "all but the tail leave before the video's last second"
    assert handed[0][0] < 4.0, "the first window leaves within seconds"


@pytest.mark.parametrize("mode", ["fast", "paper"])
def test_a_cut_in_the_clock_ends_every_track(face_models: FaceModels, data: Path, mode: str) -> None:
    """Four GRID speakers joined with `cat` are four faces, one after another, each within its own
    3 s (they were one track, with windows ending before they started)."""
    from tests.test_video_decode import GRID_JOINED

    joined = b"".join(path.read_bytes() for path in GRID_JOINED)
    extraction = extract_faces(joined, face_models, PipelineConfig(mode=mode))  # type: ignore[arg-type]
    spans = [(face.start_s, face.end_s) for face in extraction.faces]
    assert len(spans) == 4
    for k, (start, end) in enumerate(spans):
        assert 3 * k <= start < end < 3 * (k + 1)
    assert all(w.start_s < w.end_s for face in extraction.faces for w in face.windows)


def test_the_feed_drops_crops_no_later_window_can_use_and_cuts_the_same_windows() -> None:
    """A long track's early observations lose their crops as its windows are cut (memory flat over
    a long video); every window is what the unreleased track gives, gaps included."""
    import copy

    from vfer.face.geometry import Box
    from vfer.face.tracking import Observation, Track
    from vfer.pipeline import WindowFeed, _cut
    from vfer.video.sampling import SamplingPlan

    track = Track(key=0)
    for position in [p for p in range(60) if p not in (20, 21, 40)]:  # short gaps are filled from neighbours
        crop = np.full((64, 64), position, np.uint8)
        track.observations[position] = Observation(position, position / 3.5, Box(0, 0, 10, 10), {ALIGNED_GRAY: crop})
    whole = copy.deepcopy(track)
    plan, sunk = SamplingPlan(frames=tuple(range(60)), stride_steps=4), []
    feed = WindowFeed(plan, max_gap=2, sink=sunk.append)
    growing = Track(key=0)
    for position in range(60):
        if position in track.observations:
            growing.observations[position] = track.observations[position]
            growing.last_position = position
        feed.advance([growing], position)
    windows = feed.windows(growing)
    assert not growing.observations[0].crops and not growing.observations[40 - 9].crops, "early crops released"
    expected = [_cut(whole, w, 2) for w in plan.windows(0, 59)]
    assert len(windows) == len([w for w in expected if w is not None]) == len(sunk)
    for got, want in zip(windows, [w for w in expected if w is not None], strict=True):
        np.testing.assert_array_equal(got.frames, want.frames)


def _found(path: Path | bytes, models: FaceModels, mode: str) -> list[tuple[int, list[object], list[object]]]:
    extraction = extract_faces(path, models, PipelineConfig(mode=mode))  # type: ignore[arg-type]
    return [
        (
            face.track_id,
            [face.box, face.samples],
            [(w.start_s, w.end_s, w.box, w.frames.tobytes()) for w in face.windows],
        )
        for face in extraction.faces
    ]


@pytest.mark.parametrize("mode", ["fast", "paper"])
@pytest.mark.parametrize("name", ["single_face.mp4", "noface_face.mov", "joined GRID clips"])
def test_searches_run_ahead_find_what_the_tracker_would_have(
    face_models: FaceModels, data: Path, name: str, mode: str
) -> None:
    """The whole-frame searches due whatever the tracker saw (the first frame, the first after a
    cut, the first of each 2-s slot) run ahead on a thread of their own: the faces, boxes and
    windows are those of a run whose tracker searches itself, and the tracker's own detector
    searches the whole frame only while no face is followed."""
    source: Path | bytes = (
        VIDEO / name if name.endswith((".mp4", ".mov")) else b"".join(p.read_bytes() for p in GRID_CLIPS[:3])
    )
    tracker, ahead = CountingDetector(FaceDetector()), CountingDetector(FaceDetector())
    with_ahead = _found(source, FaceModels(tracker, face_models.landmarks, ahead), mode)  # type: ignore[arg-type]
    alone = _found(source, FaceModels(FaceDetector(), face_models.landmarks), mode)
    assert with_ahead == alone and with_ahead
    assert ahead.full_searches >= 2
    if name == "single_face.mp4":  # a face from the first frame to the last: no search left to the tracker
        assert tracker.full_searches == 0 and ahead.full_searches == 2  # t = 0 and the first frame at or past 2 s


def test_frames_waiting_for_the_tracker_are_bounded_in_bytes() -> None:
    """Only the tracker's frames wait in the buffer, each with its pictures: 16 of a 640x360
    video's, but 4K frames in gray and BGR (33 MB each) only 2 deep, so the buffer stays under 70 MB."""
    assert prefetch_depth(640, 360, color=True) == 16
    assert prefetch_depth(1920, 1080, color=True) == 8
    assert prefetch_depth(3840, 2160, color=True) == 2
    assert prefetch_depth(3840, 2160, color=False) == 8


def test_nearest_position_is_the_brute_force_choice() -> None:
    """The bisection picks what the plain scan picks: the nearest, the earlier of two as near."""
    from vfer.pipeline import nearest

    rng = np.random.default_rng(0)
    for _ in range(300):
        positions = sorted(rng.choice(60, size=int(rng.integers(1, 20)), replace=False).tolist())
        for wanted in range(-3, 64):
            assert nearest(positions, wanted) == min(positions, key=lambda p: (abs(p - wanted), p))


class _CountedPositions(list[int]):
    """A track's positions that count how many of them are read."""

    reads = 0

    def __getitem__(self, index: Any) -> Any:
        item = super().__getitem__(index)
        _CountedPositions.reads += len(item) if isinstance(index, slice) else 1
        return item

    def __iter__(self) -> Any:
        for item in super().__iter__():
            _CountedPositions.reads += 1
            yield item


def test_cutting_a_window_reads_a_few_positions_not_the_whole_track(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 600-s video's track has 2,400 positions and 600 windows: reading every position for each
    of a window's 8 frames made its windows cost 60 times the 60-s video's (0.54 s against 0.009 s
    of the face thread, measured); a window now reads about 8 log2(n) of them."""
    from vfer.face.geometry import Box
    from vfer.face.tracking import Observation, Track
    from vfer.pipeline import _cut

    track = Track(key=0)
    for position in range(2400):
        crop = np.zeros((64, 64), np.uint8)
        track.observations[position] = Observation(position, position / 4, Box(0, 0, 10, 10), {ALIGNED_GRAY: crop})
    monkeypatch.setattr(Track, "positions", property(lambda t: _CountedPositions(sorted(t.observations))))
    _CountedPositions.reads = 0
    window = _cut(track, list(range(1200, 1208)), max_gap=2)
    assert window is not None and window.start_s == 300.0
    assert _CountedPositions.reads <= 8 * (2 * 12 + 2), f"{_CountedPositions.reads} positions read for one window"
