"""The prediction result: one type for the CLI's --json, the HTTP API and gRPC.

The pydantic models below (`Result`, its faces and windows, and a live stream's `StreamWindow`)
are the result's only definition: `result.schema.json` is generated from them (`python -m
vfer.result`; a test keeps the file equal), the HTTP routes document them in `/openapi.json`, and
the gRPC messages are converted through them. The dataclasses build a result from a prediction
(unrounded, with the main face to find) and give it as a `Result`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vfer.labels import LABELS

Distribution = dict[str, float]
Label = Literal["neutral", "surprise", "happy", "disgust", "sad", "fear", "anger"]
SCHEMA_PATH = Path(__file__).with_name("result.schema.json")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Probability = Annotated[float, Field(ge=0, le=1)]
Seconds = Annotated[float, Field(ge=0, description="seconds from the first frame, to the millisecond")]
BoxList = Annotated[
    list[int], Field(min_length=4, max_length=4, description="[x, y, width, height] in pixels of the upright frame")
]


class Probabilities(_Strict):
    """Probability of each label, in the order of `labels`, summing to 1 (6 decimals)."""

    neutral: Probability
    surprise: Probability
    happy: Probability
    disgust: Probability
    sad: Probability
    fear: Probability
    anger: Probability


class Window(_Strict):
    """One window of 8 frames of one face."""

    start_s: Seconds
    end_s: Seconds
    box: BoxList
    distribution: Probabilities
    label: Label


class Face(_Strict):
    """One tracked face."""

    track_id: int = Field(ge=0)
    start_s: Seconds
    end_s: Seconds
    box: BoxList = Field(description="the median box")
    samples: int = Field(ge=1, description="sampling points where the face was found")
    distribution: Probabilities = Field(description="the mean of the windows'")
    label: Label
    margin: Probability = Field(description="top probability minus the second")
    uncertain: bool = Field(description="a close call: margin under 0.10")
    windows: list[Window]


class ModelUsed(_Strict):
    name: str
    version: str
    backend: Literal["torch", "onnx"]
    device: str = Field(description="cpu, cuda")
    kind: Literal["frame", "video"] = Field(
        description="frame: a frame model, averaged over each window; video: a clip model (3D CNN + ConvLSTM)"
    )


class VideoSummary(_Strict):
    duration_s: float = Field(ge=0, description="every part of the video, also across clock restarts")
    fps: float = Field(gt=0)
    frames: int = Field(ge=0)
    width: int = Field(ge=1, description="as displayed: after rotation")
    height: int = Field(ge=1)


class OptionsUsed(_Strict):
    mode: Literal["fast", "paper"]
    window_s: float = Field(gt=0)
    stride_s: float = Field(gt=0)


LabelOrder = Annotated[
    list[Label],
    Field(
        min_length=len(LABELS),
        max_length=len(LABELS),
        description="the labels, in the order every distribution lists them",
        json_schema_extra={"const": list(LABELS)},
    ),
]


class Result(_Strict):
    """What `vfer predict --json`, `POST /predict` and `GET /jobs/{id}` (its `result`) return for
    one video. The gRPC messages of proto/vfer_rpc/v1/expression.proto carry the same fields."""

    source: str = Field(description="the file's name (an upload's filename; `upload` when none was given)")
    labels: LabelOrder
    label: Label | None = Field(description="the main face's label; null when no face")
    distribution: Probabilities | None = Field(description="the main face's distribution; null when no face")
    main_track_id: int | None = Field(ge=0, description="the face seen on the most samples; null when no face")
    margin: Probability | None = Field(
        description="the main face's top probability minus its second; null when no face"
    )
    uncertain: bool = Field(description="a close call: the main face's margin is under 0.10 (false when no face)")
    no_face: bool
    partial: bool = Field(description="true when a damaged tail was skipped and only the readable part analysed")
    faces: list[Face]
    model: ModelUsed
    video: VideoSummary
    options: OptionsUsed
    timings_ms: dict[str, Annotated[float, Field(ge=0)]] = Field(
        description="busy time of each stage, in milliseconds (decode and faces overlap)"
    )


class StreamFace(_Strict):
    track_id: int = Field(ge=0, description="stable for the whole stream")
    box: BoxList
    distribution: Probabilities
    label: Label


class StreamWindow(_Strict):
    """A live stream's window (`vfer stream --json`): all faces seen in one span of time."""

    index: int = Field(ge=0)
    start_s: float
    end_s: float
    labels: LabelOrder
    faces: list[StreamFace]


def json_schema() -> dict[str, Any]:
    """`result.schema.json`: the Result, with the stream window among its definitions."""
    ref = "#/$defs/{model}"
    result = Result.model_json_schema(ref_template=ref)
    stream = StreamWindow.model_json_schema(ref_template=ref)
    defs = result.pop("$defs") | stream.pop("$defs") | {"StreamWindow": stream}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://vfer.invalid/result.schema.json",
        **result,
        "$defs": dict(sorted(defs.items())),
    }


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    path.write_text(json.dumps(json_schema(), indent=2) + "\n")
    return path


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

    def to_model(self) -> Window:
        return Window(
            start_s=round(self.start_s, 3),
            end_s=round(self.end_s, 3),
            box=self.box,
            distribution=Probabilities(**self.distribution),
            label=self.label,  # type: ignore[arg-type]
        )


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

    def to_model(self) -> Face:
        lead = margin(self.distribution)
        return Face(
            track_id=self.track_id,
            start_s=round(self.start_s, 3),
            end_s=round(self.end_s, 3),
            box=self.box,
            samples=self.samples,
            distribution=Probabilities(**self.distribution),
            label=self.label,  # type: ignore[arg-type]
            margin=lead,
            uncertain=lead < UNCERTAIN_MARGIN,
            windows=[w.to_model() for w in self.windows],
        )


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

    def to_model(self) -> Result:
        main = self.main_face
        faces = [f.to_model() for f in self.faces]
        main_face = faces[self.faces.index(main)] if main else None
        return Result(
            source=self.source,
            labels=list(LABELS),  # type: ignore[arg-type]
            label=main_face.label if main_face else None,
            distribution=main_face.distribution if main_face else None,
            main_track_id=main_face.track_id if main_face else None,
            margin=main_face.margin if main_face else None,
            uncertain=main_face.uncertain if main_face else False,
            no_face=not self.faces,
            partial=self.partial,
            faces=faces,
            model=ModelUsed(**self.model),
            video=VideoSummary(**self.video),
            options=OptionsUsed(**self.options),
            timings_ms={k: round(v, 1) for k, v in self.timings_ms.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON data: what the CLI prints and the workers store."""
        return self.to_model().model_dump(mode="json")


if __name__ == "__main__":
    print(f"wrote {write_schema()}")
