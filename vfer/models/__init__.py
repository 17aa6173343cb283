"""Expression models: the registry, the paper's video model and the FER2013 frame model.

The package is lazy: `DEFAULT_MODEL` and `TEACHER_MODEL` import nothing and `REGISTERED_MODELS`
reads the shipped files (`vfer.models.resolver`), so the gateway may read them without torch; the
registry and checkpoints (torch) load on first use of their names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

DEFAULT_MODEL = "c3d_convlstm_fer"
"""Chosen by the model card's rule (scripts/train_default.py, weights/selection.json), release 13.2:
the paper's two-branch video model, its FER branch through the mini-Xception's last block, 1.7
points of pooled macro recall behind the frame ensemble on FER+ valid and the development people
(0.784 against 0.801; the rule allows 2) and losing no ruled class by more than 10."""

TEACHER_MODEL = "mini_xception_fer2013"


_LAZY = {
    "CheckpointMeta": "vfer.models.checkpoint",
    "load_checkpoint": "vfer.models.registry",
    "save_checkpoint": "vfer.models.checkpoint",
    "create_model": "vfer.models.registry",
    "list_models": "vfer.models.registry",
    "model_entry": "vfer.models.registry",
}

if TYPE_CHECKING:
    REGISTERED_MODELS: tuple[str, ...]  # the shipped models and ensembles, by name (vfer.models.resolver)
    from vfer.models.checkpoint import CheckpointMeta, save_checkpoint
    from vfer.models.registry import create_model, list_models, load_checkpoint, model_entry


def __getattr__(name: str) -> Any:
    if name == "REGISTERED_MODELS":  # what a request may name, read from the shipped files (no torch)
        from vfer.models.resolver import shipped_names

        return shipped_names()
    if name not in _LAZY:
        raise AttributeError(f"module 'vfer.models' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = [
    "DEFAULT_MODEL",
    "REGISTERED_MODELS",
    "TEACHER_MODEL",
    "CheckpointMeta",
    "create_model",
    "list_models",
    "load_checkpoint",
    "model_entry",
    "save_checkpoint",
]
