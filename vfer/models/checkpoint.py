"""Checkpoints: a state_dict (`.pt`, loaded with weights_only=True) beside JSON metadata (`.json`).

The metadata says how to rebuild the model and how its inputs were made; keys missing from an
older checkpoint take the defaults below, so old files keep loading.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vfer import __version__
from vfer.errors import ModelNotFoundError
from vfer.labels import LABELS
from vfer.models.catalogue import WEIGHTS_DIR

FORMAT_VERSION = 1


@dataclass
class CheckpointMeta:
    """Everything needed to rebuild a model and feed it correctly."""

    model: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    input: dict[str, Any] = field(
        default_factory=lambda: {"shape": [1, 8, 64, 64], "layout": "C,T,H,W", "dtype": "float32", "range": [0, 1]}
    )
    preprocessing: dict[str, Any] = field(
        default_factory=lambda: {"align": "eyes levelled, 68-point dlib landmarks", "gray": True, "gamma": 1.5}
    )
    version: str = "0"
    provenance: dict[str, Any] = field(default_factory=dict)
    vfer_version: str = __version__
    format_version: int = FORMAT_VERSION

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckpointMeta:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def checkpoint_files(path: Path) -> tuple[Path, Path]:
    stem = path.with_suffix("") if path.suffix in (".pt", ".json") else path
    return stem.with_suffix(".pt"), stem.with_suffix(".json")


def save_checkpoint(model: nn.Module, path: Path, meta: CheckpointMeta) -> Path:
    """Write `<path>.pt` and `<path>.json`; returns the `.pt` path."""
    weights, meta_file = checkpoint_files(Path(path))
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), weights)
    meta_file.write_text(json.dumps(asdict(meta), indent=2) + "\n")
    return weights


def read_meta(path: Path) -> CheckpointMeta:
    _, meta_file = checkpoint_files(Path(path))
    if not meta_file.is_file():
        raise ModelNotFoundError(f"checkpoint metadata {meta_file} is missing")
    return CheckpointMeta.from_dict(json.loads(meta_file.read_text()))


def require_vfer_labels(meta: CheckpointMeta, source: Path) -> None:
    """A model whose outputs are not vfer's labels in vfer's order cannot be served."""
    if tuple(meta.labels) != LABELS:
        raise ModelNotFoundError(f"{source}: labels {meta.labels} differ from {list(LABELS)}")


def pretrained_path(stem: str) -> Path:
    return WEIGHTS_DIR / f"{stem}.pt"
