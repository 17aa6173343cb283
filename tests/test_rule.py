"""The model card's rule (release 13): people weigh once per class, each FER+ face is one unit,
only classes with enough units are ruled, and the intervals resample units, not photos."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from vfer.labels import LABELS
from vfer.training.rule import MIN_UNITS, apply_rule, class_scores, interval, recall_table


def pooled(macro: float, **recall: float) -> dict[str, Any]:
    ruled = ["neutral", "surprise", "happy", "sad", "anger"]
    return {
        "pooled": {"macro_recall": macro, "ruled": ruled, "recall": {label: recall.get(label, 0.8) for label in LABELS}}
    }


def test_a_persons_photos_of_a_class_weigh_as_one() -> None:
    # Actor "a" has nine sad photos, all called right; "b" and "c" one each, both called wrong.
    labels = np.full(11, LABELS.index("sad"))
    probs = np.zeros((11, 7), np.float32)
    probs[:9, LABELS.index("sad")] = 1.0
    probs[9:, LABELS.index("neutral")] = 1.0
    table = recall_table(class_scores(probs, labels, ["a"] * 9 + ["b", "c"]))
    assert table["recall"]["sad"] == pytest.approx(1 / 3)  # by photo it would be 9 / 11
    assert table["units"]["sad"] == 3 and table["recall"]["fear"] is None


def test_the_interval_resamples_units_and_narrows_as_they_grow() -> None:
    few, many = np.array([1.0, 0.0] * 10), np.array([1.0, 0.0] * 500)
    low, high = interval(few) or [0, 0]
    assert low < 0.5 < high and high - low > 0.3
    low_many, high_many = interval(many) or [0, 0]
    assert high_many - low_many < 0.1
    assert interval(np.array([])) is None


def test_a_video_model_within_two_points_losing_no_class_by_ten_is_the_default() -> None:
    candidates = {"frame": {"kind": "frame"} | pooled(0.80), "video": {"kind": "video"} | pooled(0.79, sad=0.75)}
    assert apply_rule(candidates, ["frame"], ["video"]) == "video"
    assert candidates["video"]["rule"]["passes"] and candidates["video"]["rule"]["compared_with"] == "frame"


def test_a_video_model_losing_a_ruled_class_by_more_than_ten_points_is_not() -> None:
    candidates = {"frame": {"kind": "frame"} | pooled(0.80), "video": {"kind": "video"} | pooled(0.80, sad=0.69)}
    assert apply_rule(candidates, ["frame"], ["video"]) == "frame"
    assert candidates["video"]["rule"]["classes_losing_over_10_points"] == {"sad": 0.11}


def test_an_unruled_class_decides_nothing() -> None:
    """Disgust and fear hold fewer than MIN_UNITS units: reported, never ruled on."""
    assert MIN_UNITS == 100
    candidates = {"frame": {"kind": "frame"} | pooled(0.80), "video": {"kind": "video"} | pooled(0.80, fear=0.0)}
    assert apply_rule(candidates, ["frame"], ["video"]) == "video"


def test_a_video_model_too_far_behind_in_macro_recall_is_not() -> None:
    candidates = {
        "a": {"kind": "frame"} | pooled(0.70),
        "b": {"kind": "frame"} | pooled(0.80),
        "video": {"kind": "video"} | pooled(0.775),
    }
    assert apply_rule(candidates, ["a", "b"], ["video"]) == "b"  # compared with the best frame model
    assert candidates["video"]["rule"]["macro_recall_behind"] == pytest.approx(0.025)
