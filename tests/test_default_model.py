"""Guards on the shipped default: the model card's rule chose it (recomputed from the recorded
figures), its figures reproduce on the development people through the service's own pipeline, it
says every expression the rule counts, and it still says neutral on people talking."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from benchmarks.model_quality import development_set
from vfer.inference import load_classifier
from vfer.models import DEFAULT_MODEL, REGISTERED_MODELS
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.training.photo_eval import RULE_LEAVES_OUT, DevelopmentSet, apply_rule, development_figures

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
def development() -> DevelopmentSet:
    crops = tuple(dict.fromkeys(c for name in REGISTERED_MODELS for c in load_classifier(name, backend="onnx").crops))
    return development_set(crops, workers=2)


@pytest.fixture(scope="module")
def measured(development: DevelopmentSet) -> dict[str, Any]:
    return development_figures(DEFAULT_MODEL, load_classifier(DEFAULT_MODEL, backend="onnx"), development)


def test_the_default_reproduces_its_recorded_figures(measured: dict[str, Any]) -> None:
    recorded = SELECTION["candidates"][DEFAULT_MODEL]
    assert measured["found"] == pytest.approx(recorded["found"], abs=3)
    for key in ("accuracy", "macro_recall_6", "fer2013_publictest_accuracy"):
        assert measured[key] == pytest.approx(recorded[key], abs=TOLERANCE), key
    assert measured["ece"] == pytest.approx(recorded["ece"], abs=TOLERANCE)


def test_the_model_card_states_the_recorded_figures() -> None:
    recorded = SELECTION["candidates"][DEFAULT_MODEL]
    row = re.search(rf"^\| `{DEFAULT_MODEL}` \(default\) \| ([\d.]+) \|", CARD, re.M)
    assert row, f"the model card has no row for the default {DEFAULT_MODEL}"
    assert float(row.group(1)) == pytest.approx(recorded["macro_recall_6"], abs=0.0005)


def test_the_default_says_every_expression_the_rule_counts(measured: dict[str, Any]) -> None:
    never = [
        label for label, r in measured["recall"].items() if label not in RULE_LEAVES_OUT and r is not None and r < 0.2
    ]
    assert not never, f"{DEFAULT_MODEL} rarely or never says {never}"


def test_the_default_still_says_neutral_on_people_talking(measured: dict[str, Any]) -> None:
    assert measured["grid_windows"] >= 3
    assert measured["grid_neutral_share"] >= SELECTION["candidates"][DEFAULT_MODEL]["grid_neutral_share"] - TOLERANCE
