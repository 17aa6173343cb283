"""The shipped models as their files describe them, read without torch: each one's version and
what it measured on the faces that judge it (`weights/selection.json`, written by the model card's
rule: FER+ valid and the development people). The gateway's GET /models, its web page and `vfer models` show these beside the answers,
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
    """One model on the faces that judge it (model card: who, how): FER+ valid and the development
    people, pooled as the rule reads them."""

    people: int  # development people
    photos: int  # their photos, each a still clip
    accuracy: float  # on those photos
    macro_recall: float  # pooled, over the labels the rule counts (held by 100 faces or people)
    recall: dict[str, float]  # pooled: each FER+ face and each person (their photos of the label) one unit
    support: dict[str, int]  # the units holding each label
    ece: float  # top-label expected calibration error on the photos, 10 bins
    confidence: float  # mean top-label probability on the photos: above `accuracy`, it says too much
    ferplus_faces: int  # FER+ valid faces with a majority label
    ferplus_accuracy: float
    ferplus_ece: float


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
    judged = selection["judged_on"]
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
            pooled, people, ferplus = found["pooled"], found["people"], found["ferplus"]
            measured = Measured(
                people=judged["development_people"],
                photos=judged["development_photos"],
                accuracy=people["accuracy"],
                macro_recall=pooled["macro_recall"],
                recall={label: r for label, r in pooled["recall"].items() if r is not None},
                support=pooled["units"],
                ece=people["ece"],
                confidence=people["confidence"],
                ferplus_faces=judged["ferplus_valid_faces"],
                ferplus_accuracy=ferplus["accuracy"],
                ferplus_ece=ferplus["ece"],
            )
        models[name] = ShippedModel(name=name, version=str(meta["version"]), kind=kind, measured=measured)
    return models


def _kind(value: str) -> Kind:
    if value == "video":
        return "video"
    if value == "frame":
        return "frame"
    raise ValueError(f"{SELECTION}: kind {value!r} is none of {get_args(Kind)}")
