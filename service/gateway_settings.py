"""The gateway's settings: the shared job settings plus how it listens, waits and admits work."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from vfer_jobs.settings import JobSettings, load_settings


class Settings(JobSettings):
    """Everything the gateway needs; `VFER_*` environment variables, validated at start."""

    default_wait_s: float = Field(5.0, ge=0)
    max_wait_s: float = Field(60.0, ge=0)
    max_queue: int = Field(64, gt=0)  # waiting jobs beyond this get 429
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)  # comma-separated; empty: none needed
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    grpc_port: int | None = Field(None, ge=0, le=65535)  # unset: no gRPC server
    stream_max_pending: int = Field(4, gt=0)  # complete windows of one stream waiting; beyond, reading pauses
    stream_stall_s: float = Field(30.0, gt=0)  # a window not done by then ends the stream (RESOURCE_EXHAUSTED)
    max_frame_bytes: int = Field(8 * 1024 * 1024, gt=0)  # one streamed frame
    upload_idle_timeout_s: float = Field(
        30.0, gt=0
    )  # an upload or stream that sends nothing this long is cut (408, DEADLINE_EXCEEDED)
    # Pages that may open /stream (comma-separated, e.g. https://app.example.org); empty: the
    # gateway's own page on localhost only. Clients that send no Origin (not browsers) are let in.
    ws_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A WebSocket client is pinged this often and closed when it answers none in time
    # (`ws_pong_timeout_s`): one that stops reading (its windows would wait in the gateway's
    # buffers) is let go.
    ws_ping_s: float = Field(20.0, gt=0)
    # A job not final is looked at this often; one whose message is in no queue and no worker's
    # hands at two looks is sent again (service.reaper). Broker mode only.
    reaper_check_s: float = Field(30.0, gt=0)
    # DELETE of a running job sets its cancel flag, which the job reads at every frame; a job still
    # running this long after (stuck in one long call) has its pool child killed.
    cancel_grace_s: float = Field(10.0, gt=0)
    metrics_public: bool = False  # /metrics without an API key even when keys are configured

    @property
    def ws_pong_timeout_s(self) -> float:
        """How long a ping's answer may take: VFER_WS_PING_S, or longer than a window may keep the
        stream from reading (VFER_STREAM_STALL_S): while `stream_max_pending` windows wait, the
        gateway reads nothing, so a pong waits unseen behind the client's frames."""
        return max(self.ws_ping_s, self.stream_stall_s + 5.0)

    @field_validator("api_keys", "ws_origins", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @model_validator(mode="after")
    def _check_waits(self) -> Settings:
        if self.default_wait_s > self.max_wait_s:
            raise ValueError("default_wait_s must not exceed max_wait_s")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(Settings)
