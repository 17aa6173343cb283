"""The shipped models as their files describe them, read without torch: each one's version and
what it measured on the development people (`weights/selection.json`, written by the model card's
rule). The gateway's GET /models, its web page and `vfer models` show these beside the answers,
so whoever reads a label can see how far to trust it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SELECTION = WEIGHTS_DIR / "selection.json"
MODEL_CARD = WEIGHTS_DIR / "MODEL_CARD.md"
ENSEMBLE_SUFFIX = ".ensemble.json"
# The rule's two families: a 3D CNN + ConvLSTM over a window, or each frame and then the average.
Kind = Literal["video", "frame"]


@dataclass(frozen=True)
class Measured:
    """One model on the development people's photos as still clips (model card: who, how)."""

    people: int
    photos: int
    accuracy: float
    macro_recall: float  # over the six classes the rule counts: fear has too few photos to rule on
    recall: dict[str, float]  # every label, fear included
    support: dict[str, int]  # the development photos of each label
    ece: float  # top-label expected calibration error, 10 bins
    fer2013_publictest_accuracy: float


@dataclass(frozen=True)
class ShippedModel:
    name: str
    version: str
    kind: Kind | None  # both None for a model the rule has not measured yet
    measured: Measured | None


@functools.cache
def shipped_models() -> dict[str, ShippedModel]:
    """Every model with weights in the package, by name (read once per process)."""
    selection = json.loads(SELECTION.read_text())
    people, photos = selection["development"]["people"], selection["development"]["photos"]
    figures = selection["candidates"]
    models = {}
    for meta_path in sorted(WEIGHTS_DIR.glob("*.json")):
        if meta_path == SELECTION:
            continue
        meta = json.loads(meta_path.read_text())
        ensemble = meta_path.name.endswith(ENSEMBLE_SUFFIX)
        name = meta["name"] if ensemble else meta["model"]
        found = figures.get(name)
        measured = kind = None
        if found is not None:
            kind = _kind(found["kind"])
            measured = Measured(
                people=people,
                photos=photos,
                accuracy=found["accuracy"],
                macro_recall=found["macro_recall_6"],
                recall=found["recall"],
                support=found["support"],
                ece=found["ece"],
                fer2013_publictest_accuracy=found["fer2013_publictest_accuracy"],
            )
        models[name] = ShippedModel(name=name, version=str(meta["version"]), kind=kind, measured=measured)
    return models


def _kind(value: str) -> Kind:
    if value == "video":
        return "video"
    if value == "frame":
        return "frame"
    raise ValueError(f"{SELECTION}: kind {value!r} is none of {get_args(Kind)}")
