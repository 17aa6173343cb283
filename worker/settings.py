"""A worker's settings: the shared job settings plus how it runs the model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vfer.jobs.settings import JobSettings


class WorkerSettings(JobSettings):
    # "auto": PyTorch on a GPU, ONNX Runtime on a CPU (exported once, cached in VFER_CACHE_DIR).
    backend: Literal["auto", "torch", "onnx"] = "auto"
    torch_threads: int | None = Field(None, gt=0)  # model threads per worker process; 1 when processes fill the cores
