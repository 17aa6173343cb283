"""Service settings, read from `VFER_*` environment variables and validated at start."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from vfer.inference_defaults import DEFAULT_MODEL

EMBEDDED_BROKER = "memory://"


class Settings(BaseSettings):
    """Everything the gateway and the workers need to agree on."""

    model_config = SettingsConfigDict(env_prefix="VFER_", frozen=True)

    broker_url: str | None = None  # unset: embedded mode, gateway and worker in one process
    result_backend: str | None = None  # defaults to the broker URL
    queue: str = "vfer"  # route jobs, e.g. "vfer-gpu" for GPU workers
    blob_dir: Path = Field(default_factory=lambda: Path(tempfile.gettempdir()) / "vfer-blobs")
    blob_ttl_s: int = Field(3600, gt=0)  # uploads older than this are deleted, job or not
    result_ttl_s: int = Field(3600, gt=0)  # results expire from the backend after this
    max_upload_bytes: int = Field(200 * 1024 * 1024, gt=0)
    max_duration_s: float = Field(600.0, gt=0)
    max_pixels: int = Field(3840 * 2160, gt=0)
    default_wait_s: float = Field(5.0, ge=0)
    max_wait_s: float = Field(60.0, ge=0)
    max_queue: int = Field(64, gt=0)  # waiting jobs beyond this get 429
    task_time_limit_s: int = Field(600, gt=0)
    visibility_timeout_s: int = Field(900, gt=0)  # an unacknowledged job returns to the queue after this
    model: str = DEFAULT_MODEL
    backend: Literal["torch", "onnx"] = "torch"
    torch_threads: int | None = Field(None, gt=0)  # per worker process; set 1 when processes fill the cores
    api_keys: Annotated[list[str], NoDecode] = []  # comma-separated; empty: no key needed
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    grpc_port: int | None = Field(None, ge=0, le=65535)  # unset: no gRPC server
    stream_max_pending: int = Field(4, gt=0)  # windows of one stream in flight; beyond, reading pauses
    stream_stall_s: float = Field(30.0, gt=0)  # a window not done by then ends the stream (RESOURCE_EXHAUSTED)
    max_frame_bytes: int = Field(8 * 1024 * 1024, gt=0)  # one streamed frame

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.default_wait_s > self.max_wait_s:
            raise ValueError("default_wait_s must not exceed max_wait_s")
        if self.visibility_timeout_s <= self.task_time_limit_s // 10:
            raise ValueError("visibility_timeout_s is too short for task_time_limit_s")
        return self

    @property
    def embedded(self) -> bool:
        return self.broker_url is None

    @property
    def broker(self) -> str:
        return self.broker_url or EMBEDDED_BROKER

    @property
    def backend_url(self) -> str:
        """The result backend; embedded mode keeps results in memory (see worker.embedded)."""
        return self.result_backend or self.broker_url or "cache+memory://"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
