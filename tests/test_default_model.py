"""Guards on the shipped default: the model card's rule chose it (recomputed from the recorded
figures), its figures reproduce on the judges through the service's own pipeline, it says every
expression the rule counts, and it still says neutral on people talking."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from benchmarks.model_quality import DATA
from vfer.inference import load_classifier
from vfer.models import DEFAULT_MODEL, REGISTERED_MODELS
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.training.rule import apply_rule, judge_set, judged_figures

SELECTION = json.loads((WEIGHTS_DIR / "selection.json").read_text())
CARD = (WEIGHTS_DIR / "MODEL_CARD.md").read_text()
TOLERANCE = 0.02  # ONNX Runtime on another CPU, or another dlib build, may tip a borderline photo


def test_the_default_is_the_one_the_model_cards_rule_chose() -> None:
    candidates: dict[str, dict[str, Any]] = SELECTION["candidates"]
    assert set(candidates) == set(REGISTERED_MODELS)
    frame = [n for n, c in candidates.items() if c["kind"] == "frame"]
    video = [n for n, c in candidates.items() if c["kind"] == "video"]
    assert set(video) == {"c3d_convlstm", "c3d_convlstm_fer"}
    assert apply_rule(candidates, frame, video) == SELECTION["default"] == DEFAULT_MODEL


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    classifier = load_classifier(DEFAULT_MODEL, backend="onnx")
    return judged_figures(DEFAULT_MODEL, classifier, judge_set(DATA, classifier.crops, workers=2))


def test_the_default_reproduces_its_recorded_figures(measured: dict[str, Any]) -> None:
    recorded = SELECTION["candidates"][DEFAULT_MODEL]
    assert measured["people"]["found"] == pytest.approx(recorded["people"]["found"], abs=3)
    assert measured["ferplus"]["found"] == recorded["ferplus"]["found"] == SELECTION["judged_on"]["ferplus_valid_faces"]
    assert measured["pooled"]["macro_recall"] == pytest.approx(recorded["pooled"]["macro_recall"], abs=TOLERANCE)
    for part in ("ferplus", "people"):
        for key in ("accuracy", "ece"):
            assert measured[part][key] == pytest.approx(recorded[part][key], abs=TOLERANCE), (part, key)
    assert measured["ferplus"]["vote_total_variation"] == pytest.approx(
        recorded["ferplus"]["vote_total_variation"], abs=TOLERANCE
    )


def test_the_model_card_states_the_recorded_figures() -> None:
    recorded = SELECTION["candidates"][DEFAULT_MODEL]
    row = re.search(rf"^\| `{DEFAULT_MODEL}` \(default\) \| ([\d.]+) \|", CARD, re.M)
    assert row, f"the model card has no row for the default {DEFAULT_MODEL}"
    assert float(row.group(1)) == pytest.approx(recorded["pooled"]["macro_recall"], abs=0.0005)


def test_the_default_says_every_expression_the_rule_counts(measured: dict[str, Any]) -> None:
    pooled = measured["pooled"]
    never = [label for label in pooled["ruled"] if pooled["recall"][label] < 0.5]
    assert not never, f"{DEFAULT_MODEL} says {never} for fewer than half of their faces and people"


def test_the_default_still_says_neutral_on_people_talking(measured: dict[str, Any]) -> None:
    assert measured["grid_windows"] >= 3
    assert measured["grid_neutral_share"] >= SELECTION["candidates"][DEFAULT_MODEL]["grid_neutral_share"] - TOLERANCE
