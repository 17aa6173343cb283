"""Ensembles of registered models: each member's distribution, calibrated by a temperature, then
averaged. An ensemble is a file `weights/<name>.ensemble.json` (members, temperatures, how they
were fitted), so it is named like a model everywhere (`--model fer_ensemble`, HTTP, gRPC).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vfer.models.catalogue import ENSEMBLE_SUFFIX as SUFFIX
from vfer.models.catalogue import WEIGHTS_DIR


@dataclass(frozen=True)
class Member:
    model: str
    temperature: float  # probabilities p become p ** (1 / T), renormalised


@dataclass(frozen=True)
class EnsembleSpec:
    name: str
    members: tuple[Member, ...]
    version: str
    summary: str
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "summary": self.summary,
            "members": [{"model": m.model, "temperature": m.temperature} for m in self.members],
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnsembleSpec:
        members = tuple(Member(m["model"], float(m["temperature"])) for m in data["members"])
        return cls(data["name"], members, data["version"], data["summary"], data.get("provenance", {}))


def ensemble_path(name: str, folder: Path = WEIGHTS_DIR) -> Path:
    return folder / f"{name}{SUFFIX}"


def ensemble_spec(name: str, folder: Path = WEIGHTS_DIR) -> EnsembleSpec | None:
    """The shipped ensemble of that name, or None when `name` is no ensemble."""
    path = ensemble_path(name, folder)
    return EnsembleSpec.from_dict(json.loads(path.read_text())) if path.is_file() else None


def list_ensembles(folder: Path = WEIGHTS_DIR) -> list[EnsembleSpec]:
    return [EnsembleSpec.from_dict(json.loads(p.read_text())) for p in sorted(folder.glob(f"*{SUFFIX}"))]


def save_ensemble(spec: EnsembleSpec, folder: Path = WEIGHTS_DIR) -> Path:
    path = ensemble_path(spec.name, folder)
    path.write_text(json.dumps(spec.to_dict(), indent=2) + "\n")
    return path
