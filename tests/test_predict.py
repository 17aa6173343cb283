from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.media import VIDEO, encode
from vfer.config import PipelineConfig
from vfer.face.tracking import FaceModels
from vfer.predict import Predictor
from vfer.video import VideoReader


def test_bytes_and_path_give_the_same_result(predictor: Predictor, data: Path) -> None:
    path = VIDEO / "single_face.mp4"
    by_path = predictor.predict(path).to_dict()
    by_bytes = predictor.predict(path.read_bytes(), name="clip.mp4").to_dict()
    assert by_bytes["source"] == "clip.mp4"
    assert by_bytes["faces"] == by_path["faces"]


def test_onnx_backend_gives_the_torch_distributions(
    face_models: FaceModels, predictor: Predictor, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VFER_CACHE_DIR", str(tmp_path))
    onnx = Predictor(backend="onnx", face_models=face_models)
    assert onnx.classifier.info.backend == "onnx"
    assert not list(tmp_path.rglob("*")), "the shipped graph is used: nothing is exported"
    a = onnx.predict(VIDEO / "single_face.mp4").to_dict()["distribution"]
    b = predictor.predict(VIDEO / "single_face.mp4").to_dict()["distribution"]
    assert a.keys() == b.keys()
    assert max(abs(a[k] - b[k]) for k in a) < 1e-4


def test_windows_follow_the_requested_length(predictor: Predictor, data: Path) -> None:
    config = PipelineConfig(window_s=1.0, stride_s=0.5)
    face = predictor.predict(VIDEO / "grid" / "bbaf2n.mpg", config=config).faces[0]
    lengths = [w.end_s - w.start_s for w in face.windows]
    assert len(face.windows) >= 4
    assert all(abs(length - 1.0) <= 0.1 for length in lengths)
    starts = [w.start_s for w in face.windows]
    assert starts == sorted(starts)


def two_faces_clip() -> bytes:
    """4 s at 25 fps: face A (single_face.mp4, left) from 0 to 1.6 s, face B (a GRID speaker,
    right) from 1.0 s to the end. A appears first (track 0); B is seen longer."""
    a = [f.bgr() for f in VideoReader(VIDEO / "single_face.mp4").frames()]  # 640x360, 30 fps
    b = [f.bgr() for f in VideoReader(VIDEO / "grid" / "bbaf2n.mpg").frames()]  # 360x288, 25 fps
    frames = []
    for i in range(100):
        t = i / 25
        canvas = np.full((360, 1000, 3), 90, np.uint8)
        if t < 1.6:
            canvas[:, :640] = a[min(round(t * 30), len(a) - 1)]
        if t >= 1.0:
            canvas[36:324, 640:1000] = b[min(round((t - 1.0) * 25), len(b) - 1)]
        frames.append(canvas)
    return encode(frames, fps=25)


def test_the_main_face_is_the_longest_track(predictor: Predictor, data: Path) -> None:
    result = predictor.predict(two_faces_clip(), name="two_faces.mp4")
    first, second = sorted(result.faces, key=lambda f: f.start_s)
    assert len(result.faces) == 2 and first.track_id == 0 and second.track_id == 1
    assert second.end_s - second.start_s > first.end_s - first.start_s and second.samples > first.samples
    assert result.main_face is second and result.to_dict()["main_track_id"] == 1


def test_a_long_video_gives_the_same_numbers_every_time(predictor: Predictor, data: Path, tmp_path: Path) -> None:
    """The model runs on its own thread while the video decodes; its batches are fixed by the
    video, not by thread timing, so repeated runs agree to the last digit."""
    from benchmarks.clips import make_long_clip

    clip = make_long_clip(VIDEO / "single_face.mp4", 45.0, tmp_path / "long.mp4")
    first, second = (predictor.predict(clip).to_dict()["faces"] for _ in range(2))
    assert sum(len(face["windows"]) for face in first) > 32, "more than one batch"
    assert first == second
