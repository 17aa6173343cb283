"""What a caller may choose, validated once: the HTTP query, the gRPC config and the CLI use these.

Defaults and bounds come from the core's `PipelineConfig`; a value the pipeline would refuse is
refused here, before anything is queued. The task payloads (`VideoJob`, `WindowJob`) are what a
worker receives, as JSON.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vfer.config import MODES, WINDOW_S_MAX, WINDOW_S_MIN, DecodeLimits, Mode, PipelineConfig
from vfer.errors import InvalidOptionError

FrameFormat = Literal["jpeg", "png", "gray", "bgr"]
M = TypeVar("M", bound="_Options")
P = TypeVar("P", bound=BaseModel)


def parse(cls: type[P], data: dict[str, Any]) -> P:
    """Validate values from the wire (a gRPC message, a queued job): errors are the caller's."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidOptionError(f"{where + ': ' if where else ''}{first['msg']}") from None


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="a model's name: registered, or in the server's model directory (default: the server's)",
    )
    window_s: float = Field(
        PipelineConfig.window_s, ge=WINDOW_S_MIN, le=WINDOW_S_MAX, description="window length in seconds"
    )
    stride_s: float = Field(PipelineConfig.stride_s, gt=0, le=WINDOW_S_MAX, description="window stride in seconds")

    @model_validator(mode="after")
    def _the_pipeline_accepts_it(self: M) -> M:
        try:
            self.to_pipeline_config()
        except InvalidOptionError as exc:
            raise ValueError(str(exc)) from None
        return self

    def to_pipeline_config(self, limits: DecodeLimits | None = None) -> PipelineConfig:
        fields = self.model_dump(include={"mode", "window_s", "stride_s"})  # what the pipeline takes of them
        return PipelineConfig(**fields, limits=limits or DecodeLimits())


class JobOptions(_Options):
    """Options of one video's prediction."""

    mode: Mode = Field(PipelineConfig.mode, description=f"one of {', '.join(MODES)}: 'paper' tracks every frame")


class StreamOptions(_Options):
    """Options of one live stream: the frames' encoding and the windows to cut."""

    format: FrameFormat = "jpeg"


class VideoJob(BaseModel):
    """The payload of a video task: the upload is in the blob store under the job's id."""

    options: JobOptions = JobOptions()
    filename: str = "upload"
    preview: bool = False  # also write a copy every browser plays (vfer.video.preview)


class WindowJob(BaseModel):
    """The payload of a stream-window task: its frames are in the blob store under the job's id.

    `tracks` is the core's tracker state after the stream's previous window (opaque here), so the
    worker keeps face ids and skips the full-frame search until it is due."""

    options: StreamOptions = StreamOptions()
    first_frame: int = Field(0, ge=0)  # the stream's number of the window's first frame (for messages)
    tracks: dict[str, Any] = Field(default_factory=dict)
