"""The prediction result: one schema for the CLI's --json, the HTTP API and gRPC."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vfer.labels import LABELS

Distribution = dict[str, float]


def distribution(probabilities: list[float]) -> Distribution:
    """Label -> probability in LABELS order, rounded, renormalised to sum to 1."""
    total = float(sum(probabilities)) or 1.0
    return {label: round(float(p) / total, 6) for label, p in zip(LABELS, probabilities, strict=True)}


UNCERTAIN_MARGIN = 0.10
"""A result whose top label leads the next by less than this is a close call: `uncertain`, and the
CLI and the page say which label is close behind."""


def top_label(dist: Distribution) -> str:
    return max(dist, key=lambda label: dist[label])


def runner_up(dist: Distribution) -> str:
    return sorted(dist, key=lambda label: dist[label])[-2]


def margin(dist: Distribution) -> float:
    """How far the top label leads the next, in probability (0 to 1)."""
    return round(dist[top_label(dist)] - dist[runner_up(dist)], 6)


@dataclass
class WindowPrediction:
    start_s: float
    end_s: float
    box: list[int]  # x, y, width, height in displayed-frame pixels
    distribution: Distribution

    @property
    def label(self) -> str:
        return top_label(self.distribution)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "box": self.box,
            "distribution": self.distribution,
            "label": self.label,
        }


@dataclass
class FacePrediction:
    track_id: int
    start_s: float
    end_s: float
    box: list[int]
    samples: int
    distribution: Distribution  # mean of the windows' distributions
    windows: list[WindowPrediction]

    @property
    def label(self) -> str:
        return top_label(self.distribution)

    def to_dict(self) -> dict[str, Any]:
        lead = margin(self.distribution)
        return {
            "track_id": self.track_id,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "box": self.box,
            "samples": self.samples,
            "distribution": self.distribution,
            "label": self.label,
            "margin": lead,
            "uncertain": lead < UNCERTAIN_MARGIN,
            "windows": [w.to_dict() for w in self.windows],
        }


@dataclass
class PredictionResult:
    source: str
    faces: list[FacePrediction]
    model: dict[str, str]
    video: dict[str, Any]
    options: dict[str, Any]
    partial: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def main_face(self) -> FacePrediction | None:
        """The face seen on the most samples (ties: the larger box)."""
        return max(self.faces, key=lambda f: (f.samples, f.box[2] * f.box[3]), default=None)

    def to_dict(self) -> dict[str, Any]:
        main = self.main_face
        faces = [f.to_dict() for f in self.faces]
        main_dict = faces[self.faces.index(main)] if main else None
        return {
            "source": self.source,
            "labels": list(LABELS),
            "label": main.label if main else None,
            "distribution": main.distribution if main else None,
            "main_track_id": main.track_id if main else None,
            "margin": main_dict["margin"] if main_dict else None,
            "uncertain": main_dict["uncertain"] if main_dict else False,
            "no_face": not self.faces,
            "partial": self.partial,
            "faces": faces,
            "model": self.model,
            "video": self.video,
            "options": self.options,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
