"""The result's reading aids: the margin between the top two labels, the close-call flag, and the
model's kind, as the JSON, the CLI and the page get them."""

from __future__ import annotations

import json

from tests.schema import assert_result
from vfer.cli import format_human
from vfer.result import UNCERTAIN_MARGIN, FacePrediction, PredictionResult, WindowPrediction, distribution

MODEL = {"name": "mini_xception_fer2013", "version": "2.0", "backend": "onnx", "device": "cpu", "kind": "frame"}
VIDEO = {"duration_s": 3.0, "fps": 25.0, "frames": 75, "width": 360, "height": 288}


def face(probabilities: list[float], track_id: int = 0, samples: int = 10) -> FacePrediction:
    dist = distribution(probabilities)
    window = WindowPrediction(0.0, 2.0, [10, 10, 50, 50], dist)
    return FacePrediction(track_id, 0.0, 2.0, [10, 10, 50, 50], samples, dist, [window])


def result(*faces: FacePrediction) -> dict:  # type: ignore[type-arg]
    body = PredictionResult("bbaf2n.mpg", list(faces), MODEL, VIDEO, {"mode": "fast", "window_s": 2.0, "stride_s": 1.0})
    return json.loads(json.dumps(body.to_dict()))  # as a client receives it


def test_a_close_call_is_flagged_with_its_margin_and_said_in_words() -> None:
    # GRID bbaf2n.mpg, as a newcomer saw it: sad 34 %, neutral 33 %.
    close = [0.33, 0.05, 0.08, 0.05, 0.34, 0.05, 0.10]
    body = result(face(close))
    assert_result(body)
    assert body["label"] == "sad" and body["uncertain"] is True
    assert abs(body["margin"] - 0.01) < 1e-6 and body["faces"][0]["uncertain"] is True
    text = format_human(body)
    assert "a close call: neutral is 33%" in text
    assert "model: mini_xception_fer2013 2.0 (frame model, onnx)" in text


def test_a_clear_result_is_not_flagged_and_no_face_has_no_margin() -> None:
    clear = [0.1, 0.05, 0.7, 0.05, 0.04, 0.03, 0.03]
    body = result(face(clear))
    assert body["uncertain"] is False and body["margin"] > UNCERTAIN_MARGIN
    assert "close call" not in format_human(body)
    empty = result()
    assert_result(empty)
    assert empty["margin"] is None and empty["uncertain"] is False


def test_each_face_has_its_own_margin() -> None:
    body = result(face([0.9] + [0.1 / 6] * 6, 0, samples=20), face([0.3, 0.29] + [0.41 / 5] * 5, 1))
    margins = {f["track_id"]: (f["margin"], f["uncertain"]) for f in body["faces"]}
    assert margins[0][1] is False and margins[1] == (round(0.3 - 0.29, 6), True)
    assert body["main_track_id"] == 0 and body["uncertain"] is False


def test_the_plots_caption_marks_a_close_call_as_the_command_line_does() -> None:
    """`--plot`'s title said "sad 29%" where the command line said "a close call: disgust is 28%"."""
    from vfer.plots import face_caption

    close = {"neutral": 0.2, "surprise": 0.05, "happy": 0.05, "disgust": 0.28, "sad": 0.29, "fear": 0.05, "anger": 0.08}
    sure = {**close, "sad": 0.5, "disgust": 0.07}
    assert (
        face_caption({"track_id": 0, "windows": [], "distribution": close}) == "face 0: sad 29% or disgust 28% (close)"
    )
    assert face_caption({"track_id": 1, "windows": [], "distribution": sure}) == "face 1: sad 50%"


def test_the_result_schema_file_is_the_one_the_result_type_generates() -> None:
    """The schema was written by hand beside the code that made results; now it is generated from
    the one result type (`python -m vfer.result` rewrites it)."""
    import json

    from vfer.result import SCHEMA_PATH, json_schema

    assert json.loads(SCHEMA_PATH.read_text()) == json_schema(), "run `python -m vfer.result`"
