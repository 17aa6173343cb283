"""The split topology's hand-over: window crops as bytes, the rest as JSON, the same result."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.media import VIDEO
from vfer.config import PipelineConfig
from vfer.errors import WindowDataError
from vfer.extraction_codec import extraction_from_dict, extraction_to_dict, pack_window, unpack_window
from vfer.inference import classify_windows, load_classifier
from vfer.pipeline import FaceWindow, extract_faces
from vfer.predict import Predictor, assemble_faces


def test_windows_and_layout_round_trip_to_the_same_result(predictor: Predictor, data: Path) -> None:
    config = replace(PipelineConfig(), crops=predictor.classifier.crops)
    windows: list[FaceWindow] = []
    extraction = extract_faces(VIDEO / "face_noface.mov", predictor.face_models, config, windows=windows.append)
    numbers = {id(w): n for n, w in enumerate(windows)}
    packed = [pack_window(w.clips, config.crops) for w in windows]
    unpacked = [unpack_window(data, config.crops) for data in packed]
    for window, clips in zip(windows, unpacked, strict=True):
        assert all(np.array_equal(window.clips[crop], clips[crop]) for crop in config.crops)

    rebuilt, rebuilt_numbers = extraction_from_dict(json.loads(json.dumps(extraction_to_dict(extraction, numbers))))
    probs = classify_windows(predictor.classifier, windows)
    direct = assemble_faces(extraction.faces, {id(w): probs[n] for n, w in enumerate(windows)})
    handed_over = assemble_faces(rebuilt.faces, {key: probs[n] for key, n in rebuilt_numbers.items()})
    assert [f.to_model() for f in handed_over] == [f.to_model() for f in direct] and direct
    assert rebuilt.info == extraction.info and rebuilt.timings_ms == extraction.timings_ms


def test_window_bytes_of_another_model_are_refused() -> None:
    gray = PipelineConfig().crops  # the paper's 8x64x64 gray crops alone
    data = pack_window({gray[0]: np.zeros((8, 64, 64), np.uint8)}, gray)
    assert len(data) == 8 * 64 * 64
    with pytest.raises(WindowDataError, match="expected"):  # the ensemble also takes 112x112 RGB crops
        unpack_window(data, load_classifier("fer_ensemble", backend="onnx").crops)
