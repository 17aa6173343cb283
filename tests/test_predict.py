from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import VIDEO
from vfer.config import PipelineConfig
from vfer.face.tracking import FaceModels
from vfer.predict import Predictor


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
    assert list(tmp_path.glob("onnx/*.onnx")), "the export is cached for the next process"
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


def test_the_main_face_is_the_longest_track(predictor: Predictor, data: Path) -> None:
    result = predictor.predict(VIDEO / "noface_face.mov")
    assert result.main_face is not None and result.main_face.track_id == 0
    assert result.to_dict()["main_track_id"] == 0
