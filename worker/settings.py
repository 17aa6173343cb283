"""A worker's settings: the shared job settings plus how it runs the model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vfer.jobs.settings import JobSettings


class WorkerSettings(JobSettings):
    backend: Literal["torch", "onnx"] = "torch"
    torch_threads: int | None = Field(None, gt=0)  # per worker process; set 1 when processes fill the cores
