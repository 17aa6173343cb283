"""The documented response bodies, for the OpenAPI document: errors, jobs, and which statuses
each route answers with (all errors share one shape; `service.errors` maps codes to statuses)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from vfer.models.catalogue import Kind
from vfer.result import Result


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable: empty_input, not_a_video, queue_full, ...")
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class JobBody(BaseModel):
    job_id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    status_url: str
    result: Result | None = Field(None, description="the prediction, once done")
    error: ErrorDetail | None = Field(None, description="why it failed")
    progress: dict[str, float] | None = Field(
        None, description='a running job\'s progress: {"done_s", "duration_s"} of the video'
    )


def errors(statuses: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the error body, as JSON whatever
    the route's own media type (the metrics route answers text, its errors JSON)."""
    return {
        status: {"model": ErrorBody, "description": why, "content": {"application/json": {}}}
        for status, why in statuses.items()
    }


class Readiness(BaseModel):
    """Whether jobs can be taken, and what is missing when not (also the 503 body)."""

    status: Literal["ready", "not ready"]
    broker: bool
    storage: bool
    workers: bool
    workers_failing: dict[str, str] = Field(
        default_factory=dict,
        description="worker nodes whose pool children cannot load what jobs need (a missing or broken model), and why",
    )


AUTH = {401: "API keys are configured and the request's X-API-Key is missing or wrong"}
BROKER = {503: "the broker or the upload store is unavailable (Retry-After)"}


class Development(BaseModel):
    """What a model measured on faces it never trained, tuned or was calibrated on: FER+ valid and
    the development people (the model card says who they are and how the figures were made)."""

    people: int = Field(description="development people")
    photos: int = Field(description="their photos, each a still clip")
    accuracy: float = Field(description="share of the development photos named right")
    macro_recall: float = Field(description="mean pooled recall over the labels held by 100 faces or people or more")
    recall: dict[str, float] = Field(
        description="pooled: the share of each label's FER+ faces and people named right, each person weighing once"
    )
    support: dict[str, int] = Field(description="FER+ faces and development people holding each label")
    ece: float = Field(
        description="top-label expected calibration error on the photos, 10 bins: how far its percentages run off"
    )
    confidence: float = Field(
        description="mean top-label probability on the photos: above `accuracy`, its percentages run too high"
    )
    ferplus_faces: int = Field(description="FER+ valid faces with a majority label of ten annotators")
    ferplus_accuracy: float
    ferplus_ece: float


class ModelInfo(BaseModel):
    name: str
    version: str
    kind: Kind | None = Field(
        description="video: a 3D CNN + ConvLSTM over each window; frame: each frame, averaged over the window"
    )
    default: bool = Field(description="served when a request names no model")
    development: Development | None = Field(description="None: not measured on the development people")


class ModelsBody(BaseModel):
    models: list[ModelInfo] = Field(description="the models shipped with the service, each a valid `model=`")
    model_dir: bool = Field(description="true: names of the operator's own checkpoints are accepted too")
    card: str = Field(description="the model card the figures come from: a path relative to the gateway")
