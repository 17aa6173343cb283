"""What a model name means, decided in one place and without torch, so the gateway (which has
none), the workers, the command line and the split topology all agree on it.

A name is, in this order:
- an **ensemble** shipped in the package (`weights/NAME.ensemble.json`);
- a **registered** model with shipped weights (the checkpoint whose metadata names it);
- a checkpoint **in the operator's model directory** (`NAME.pt` + `NAME.json`), where one is
  configured (`VFER_MODEL_DIR`);
- on the command line only (`paths=True`), a **path**: an `.onnx` file from `vfer export`, or a
  checkpoint (`.pt` / `.json`, or any name with a path separator). A request from the network never
  names a path.

Anything else is `ModelNotFoundError`, naming every model a request may name. Each answer is a
`ModelRecord`: what kind of model it is and which file holds it; nothing is loaded here.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vfer.errors import ModelNotFoundError
from vfer.models.catalogue import ENSEMBLE_SUFFIX, SELECTION, WEIGHTS_DIR

ModelKind = Literal["ensemble", "registered", "checkpoint", "onnx"]


@dataclass(frozen=True)
class ModelRecord:
    name: str  # as given
    kind: ModelKind
    path: Path | None  # the checkpoint (.pt, its .json beside it) or .onnx file; None for an ensemble
    members: tuple[str, ...] = ()  # an ensemble's models, each a registered name


@functools.cache
def shipped() -> dict[str, Path]:
    """Every model the package ships, by name: an ensemble's file, or a checkpoint's `.pt`."""
    found: dict[str, Path] = {}
    for meta in sorted(WEIGHTS_DIR.glob("*.json")):
        if meta == SELECTION:
            continue
        if meta.name.endswith(ENSEMBLE_SUFFIX):
            found[meta.name.removesuffix(ENSEMBLE_SUFFIX)] = meta
        else:
            found[json.loads(meta.read_text())["model"]] = meta.with_suffix(".pt")
    return dict(sorted(found.items()))


def shipped_names() -> tuple[str, ...]:
    """The names a request may give (besides the operator's model directory)."""
    return tuple(shipped())


def resolve_model(name: str, *, model_dir: Path | None = None, paths: bool = False) -> ModelRecord:
    """The one meaning of `name` (see the module's docstring)."""
    if paths and name.endswith(".onnx"):
        return _existing(ModelRecord(name, "onnx", Path(name)))
    if paths and (name.endswith((".pt", ".json")) or os.sep in name):
        return _existing(ModelRecord(name, "checkpoint", Path(name).with_suffix(".pt")))
    known = shipped()
    if name in known:
        path = known[name]
        if path.name.endswith(ENSEMBLE_SUFFIX):
            members = tuple(member["model"] for member in json.loads(path.read_text())["members"])
            return ModelRecord(name, "ensemble", None, members)
        return ModelRecord(name, "registered", path)
    if model_dir is not None:
        checkpoint = model_dir / f"{name}.pt"
        if checkpoint.is_file() and checkpoint.with_suffix(".json").is_file():
            return ModelRecord(name, "checkpoint", checkpoint)
    also = ", or a checkpoint's path" if paths else ", or a name in the model directory" if model_dir else ""
    raise ModelNotFoundError(f"unknown model {name!r}; known models: {', '.join(known)}{also}")


def _existing(record: ModelRecord) -> ModelRecord:
    assert record.path is not None
    if not record.path.is_file():
        raise ModelNotFoundError(f"{record.kind} {record.name} not found")
    return record
