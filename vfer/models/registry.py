"""Model registry in the style of timm: `@register_model` builders and `create_model(name)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from vfer.errors import ModelNotFoundError

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
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelNotFoundError(f"unknown model {name!r}; known models: {known}") from None


def list_models() -> list[ModelEntry]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def create_model(name: str, *, pretrained: bool = False, **kwargs: Any) -> nn.Module:
    """Build a registered model; `pretrained=True` loads its shipped weights."""
    entry = model_entry(name)
    if not pretrained:
        return entry.builder(**kwargs)
    if entry.pretrained is None:
        raise ModelNotFoundError(f"model {name!r} ships no pretrained weights")
    from vfer.models.checkpoint import load_checkpoint, pretrained_path

    model, _ = load_checkpoint(pretrained_path(entry.pretrained))
    return model
