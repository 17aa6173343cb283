"""A worker's settings: the shared job settings plus how it runs the model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vfer_jobs.settings import JobSettings


class WorkerSettings(JobSettings):
    # "auto": PyTorch on a GPU, ONNX Runtime on a CPU (exported once, cached in VFER_CACHE_DIR).
    backend: Literal["auto", "torch", "onnx"] = "auto"
    torch_threads: int | None = Field(None, gt=0)  # model threads per worker process; 1 when processes fill the cores
    # An inference worker (`vfer worker --role inference`, split topology) runs the model once
    # this many windows are waiting, or every `inference_max_wait_ms` on what has come.
    inference_max_batch: int = Field(64, gt=0, le=4096)
    inference_max_wait_ms: float = Field(20.0, gt=0, le=10_000)
    metrics_port: int | None = Field(None, ge=0, le=65535)  # an inference worker's Prometheus /metrics
    # A prefork pool's child loads its models before it reports up (5-10 s on 2 busy cores):
    # Celery's own limit, 4 s, killed such children over and over after a cancel or a crash.
    child_start_timeout_s: float = Field(120.0, gt=0)
