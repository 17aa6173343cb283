"""Model registry in the style of timm: `@register_model` builders and `create_model(name)`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from vfer.errors import ModelNotFoundError
from vfer.models.checkpoint import CheckpointMeta, checkpoint_files, pretrained_path, read_meta, require_vfer_labels

Builder = Callable[..., nn.Module]
B = TypeVar("B", bound=Builder)


@dataclass(frozen=True)
class ModelEntry:
    """A registered builder and what a user should know before choosing it."""

    name: str
    builder: Builder
    summary: str
    pretrained: str | None  # checkpoint stem under vfer/models/weights, if weights ship
    init_weights: tuple[str, ...] = ()  # builder flags that load weights into a fresh model only


_REGISTRY: dict[str, ModelEntry] = {}
_BUILDERS = (
    "vfer.models.c3d_convlstm",
    "vfer.models.faceapi_expression",
    "vfer.models.mini_xception",
    "vfer.models.two_branch",
)


def _registry() -> dict[str, ModelEntry]:
    """Every builder, whichever module was imported first: importing a builder's module is what
    registers it, and a caller of `load_checkpoint` need not know which modules those are."""
    for module in _BUILDERS:
        importlib.import_module(module)
    return _REGISTRY


def register_model(
    *, summary: str, pretrained: str | None = None, init_weights: tuple[str, ...] = ()
) -> Callable[[B], B]:
    """Register a keyword-only builder under its function name; `init_weights` names its flags
    that load weights into a fresh model (turned off when a checkpoint supplies every weight)."""

    def wrap(builder: B) -> B:
        name = builder.__name__
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelEntry(name, builder, summary, pretrained, init_weights)
        return builder

    return wrap


def model_entry(name: str) -> ModelEntry:
    registry = _registry()
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise ModelNotFoundError(f"unknown model {name!r}; known models: {known}") from None


def list_models() -> list[ModelEntry]:
    registry = _registry()
    return [registry[name] for name in sorted(registry)]


def create_model(name: str, *, pretrained: bool = False, **kwargs: Any) -> nn.Module:
    """Build a registered model; `pretrained=True` loads its shipped weights."""
    entry = model_entry(name)
    if not pretrained:
        return entry.builder(**kwargs)
    if entry.pretrained is None:
        raise ModelNotFoundError(f"model {name!r} ships no pretrained weights")
    model, _ = load_checkpoint(pretrained_path(entry.pretrained))
    return model


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> tuple[nn.Module, CheckpointMeta]:
    """Rebuild the registered model named in the metadata and load its weights (eval mode)."""
    weights, _ = checkpoint_files(Path(path))
    meta = read_meta(path)
    if not weights.is_file():
        raise ModelNotFoundError(f"checkpoint weights {weights} are missing")
    require_vfer_labels(meta, weights)
    model = build_from_meta(meta)
    model.load_state_dict(torch.load(weights, map_location=map_location, weights_only=True))
    return model.eval(), meta


def build_from_meta(meta: CheckpointMeta) -> nn.Module:
    """The model a checkpoint's metadata describes (its builder options), without its weights."""
    entry = model_entry(meta.model)
    kwargs = meta.model_kwargs | dict.fromkeys(entry.init_weights, False)  # the state dict has them all
    return entry.builder(**kwargs)
