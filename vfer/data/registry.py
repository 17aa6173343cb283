"""Dataset adapters by name, like models: `@register_dataset` on a reader, looked up by layout.

A dataset declares how to read its layout, the paper's augmentation for it and its evaluation
protocols; adding a layout is one file in `vfer/data/datasets/`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vfer.errors import InvalidOptionError

if TYPE_CHECKING:
    from vfer.data.cache import ClipSet
    from vfer.data.layouts import Sample
    from vfer.data.protocols import Split

Variant = tuple[float, bool]  # (degrees, flipped)
Splitter = Callable[["ClipSet", int], "list[Split]"]  # (clips, seed) -> (train, test) index splits


@dataclass(frozen=True)
class ReadOptions:
    keep_contempt: bool = False  # CK+: keep its eighth class


Reader = Callable[[Path, ReadOptions], Iterator["Sample"]]


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    reader: Reader
    augmentation: tuple[Variant, ...]  # every training clip in each of these variants
    protocols: dict[str, Splitter]  # the dataset's evaluation protocols by name
    summary: str


_DATASETS: dict[str, DatasetEntry] = {}


def register_dataset(
    name: str, *, summary: str, augmentation: tuple[Variant, ...], protocols: dict[str, Splitter]
) -> Callable[[Reader], Reader]:
    def wrap(reader: Reader) -> Reader:
        if name in _DATASETS:
            raise ValueError(f"dataset {name!r} is registered twice")
        _DATASETS[name] = DatasetEntry(name, reader, augmentation, protocols, summary)
        return reader

    return wrap


def _registered() -> dict[str, DatasetEntry]:
    importlib.import_module("vfer.data.datasets")  # registers the adapters
    return _DATASETS


def dataset_entry(name: str) -> DatasetEntry:
    datasets = _registered()
    if name not in datasets:
        raise InvalidOptionError(f"layout must be one of {', '.join(datasets)}, not {name!r}")
    return datasets[name]


def list_datasets() -> list[str]:
    return list(_registered())


def protocol(name: str) -> tuple[Splitter, DatasetEntry]:
    """A protocol's splitter and the dataset it belongs to (whose augmentation it trains with)."""
    for entry in _registered().values():
        if name in entry.protocols:
            return entry.protocols[name], entry
    raise InvalidOptionError(f"protocol must be one of {', '.join(list_protocols())}, not {name!r}")


def list_protocols() -> list[str]:
    return [name for entry in _registered().values() for name in entry.protocols]
