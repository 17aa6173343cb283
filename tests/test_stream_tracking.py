"""A live stream tracked window by window: the core's tracker state carried from each to the next."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.counting import CountingDetector
from tests.media import VIDEO
from vfer.config import PipelineConfig
from vfer.face.geometry import Box
from vfer.face.tracking import FaceModels, TrackerState
from vfer.pipeline import GrayImage, faces_in_window
from vfer.video import VideoReader
from vfer.video.sampling import LiveGrid

CONFIG = PipelineConfig(window_s=1.0, stride_s=0.5)


def stream_windows(path: Path, config: PipelineConfig = CONFIG) -> list[list[tuple[float, GrayImage]]]:
    """The windows a live stream of the file is cut into, as the gRPC gateway cuts them."""
    grid = LiveGrid(config.window_s, config.stride_s)
    kept: dict[int, tuple[float, GrayImage]] = {}
    windows = []
    for frame in VideoReader(path).frames():
        position = grid.offer(frame.time_s)
        if position is not None:
            kept[position] = (frame.time_s, frame.gray())
        windows += [[kept[p] for p in range(first, last + 1)] for first, last in grid.complete()]
    return windows


def test_a_stream_keeps_its_face_id_and_skips_full_frame_searches(face_models: FaceModels, data: Path) -> None:
    windows = stream_windows(VIDEO / "single_face.mp4")
    assert len(windows) >= 3
    counting = CountingDetector(face_models.detector)
    models = FaceModels(counting, face_models.landmarks)  # type: ignore[arg-type]
    state = TrackerState()
    ids, searches = [], []
    for window in windows:
        before = counting.full_searches
        clips, state = faces_in_window(window, models, CONFIG, state)
        ids.append([clip.track_id for clip in clips])
        searches.append(counting.full_searches - before)
    assert ids == [[0]] * len(windows), "one face, one id across every window"
    assert searches[0] >= 1, "the first window searches the whole frame"
    assert searches[1] == 0, "the next window starts from the carried box, searching only near it"
    assert sum(searches) < len(windows), "full searches only when due (every detect_interval_s)"
    assert state.faces and state.faces[0][0] == 0 and state.next_id == 1


def test_the_state_survives_json(face_models: FaceModels, data: Path) -> None:
    window = stream_windows(VIDEO / "single_face.mp4")[0]
    _, state = faces_in_window(window, face_models, CONFIG, TrackerState())
    again = TrackerState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state and again.last_detection_s is not None and again.seen_s[0] is not None
    older = {"faces": [[0, [1.0, 2.0, 3.0, 4.0]]], "next_id": 1, "last_detection_s": 0.5}  # a job queued before
    assert TrackerState.from_dict(older).seen_s == (None,)


def test_a_face_that_appears_keeps_one_id_across_overlapping_windows(face_models: FaceModels, data: Path) -> None:
    """noface_face.mov streamed in 2-s windows every second: windows 2, 3, 4 gave the ids 0, 1, 1.
    The face appears at about 4 s, late in one window; the next window starts a second earlier,
    before the face was there, and took those first faceless samples for a gap that ended the
    track. A carried face counts as seen up to when the previous window last saw it."""
    config = PipelineConfig(window_s=2.0, stride_s=1.0)
    state, ids = TrackerState(), []
    for window in stream_windows(VIDEO / "noface_face.mov", config):
        clips, state = faces_in_window(window, face_models, config, state)
        ids += [clip.track_id for clip in clips]
    assert len(ids) >= 2 and set(ids) == {0}, ids  # before: [0, 1]


def test_a_face_that_left_is_not_carried_on(face_models: FaceModels, data: Path) -> None:
    blank = [(t, np.zeros((360, 640), np.uint8)) for t in np.arange(8) / 7]
    carried = TrackerState(faces=((3, Box(200, 80, 360, 240)),), next_id=4, last_detection_s=0.0)
    clips, state = faces_in_window(blank, face_models, CONFIG, carried)
    assert clips == [] and state.faces == () and state.next_id == 4, "ids are never reused"
