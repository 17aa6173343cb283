"""The `VFER_*` settings that the gateway and the workers must agree on, validated at start.

Each side extends `JobSettings` with its own (`service.gateway_settings.Settings`,
`worker.worker_settings.WorkerSettings`); `load_settings` turns a bad value into one line naming the
environment variable, for the command line to print before it exits.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vfer.config import DecodeLimits
from vfer.errors import InvalidOptionError
from vfer.models import DEFAULT_MODEL
from vfer.models.resolver import resolve_model

ENV_PREFIX = "VFER_"
EMBEDDED_BROKER = "memory://"
EMBEDDED_BACKEND = "cache+memory://"
S = TypeVar("S", bound="JobSettings")


class JobSettings(BaseSettings):
    """Where jobs go and wait, how long they may run, and what a job may be."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    broker_url: str | None = None  # unset: embedded mode, gateway and worker in one process
    result_backend: str | None = None  # defaults to the broker URL
    # With sentinel:// URLs (`sentinel://HOST:26379/DB;sentinel://HOST2:26379/DB`): the name of the
    # primary the Sentinels watch, whose replica takes over when it fails (README, "Redis HA").
    redis_sentinel_master: str | None = None
    queue: str = "vfer"  # route jobs, e.g. "vfer-gpu" for GPU workers
    log_format: Literal["text", "json"] = "text"  # json: one object a line, naming the job (vfer_jobs.logs)
    # "single": a worker runs a whole job. "split": job workers find faces and queue each window
    # on `inference_queue`, whose workers classify windows of many jobs in one batch (README, Scaling).
    topology: Literal["single", "split"] = "single"
    inference_queue: str = "vfer-inference"
    # Split topology: windows waiting for an inference worker or held by one, beyond which faces
    # workers pause and the gateway answers 429 (their crops wait in Redis meanwhile).
    inference_max_pending: int = Field(512, gt=0)
    blob_dir: Path = Field(default_factory=lambda: Path(tempfile.gettempdir()) / "vfer-blobs")
    blob_url: str | None = None  # s3://bucket/prefix: uploads in an S3-compatible bucket instead of blob_dir
    s3_endpoint_url: str | None = None  # MinIO, Ceph, GCS...: their URL (unset: AWS); credentials: AWS_* variables
    blob_ttl_s: int = Field(3600, gt=0)  # uploads older than this are deleted, job or not
    result_ttl_s: int = Field(3600, gt=0)  # results expire from the backend after this
    max_upload_bytes: int = Field(200 * 1024 * 1024, gt=0)
    max_duration_s: float = Field(600.0, gt=0)
    max_pixels: int = Field(3840 * 2160, gt=0)
    max_decoded_pixels: int = Field(DecodeLimits.max_decoded_pixels, gt=0)  # width x height x frames: the work
    task_time_limit_s: int = Field(600, gt=0)
    visibility_timeout_s: int = Field(900, gt=0)  # an unacknowledged job returns to the queue after this
    model: str = DEFAULT_MODEL  # served when a request names none (a name, or the operator's checkpoint path)
    model_dir: Path | None = None  # NAME.pt + NAME.json here may be named by requests, besides the registry

    @model_validator(mode="after")
    def _check_together(self: S) -> S:
        if self.visibility_timeout_s <= self.task_time_limit_s // 10:
            raise ValueError("visibility_timeout_s is too short for task_time_limit_s")
        if self.topology == "split" and self.broker_url is None:
            raise ValueError("VFER_TOPOLOGY=split needs a broker (VFER_BROKER_URL): the embedded mode runs whole jobs")
        if self.topology == "split" and self.inference_queue == self.queue:
            raise ValueError("VFER_INFERENCE_QUEUE must differ from VFER_QUEUE")
        if self.sentinel and self.redis_sentinel_master is None:
            raise ValueError(
                "sentinel:// URLs need VFER_REDIS_SENTINEL_MASTER, the name of the primary the Sentinels watch"
            )
        return self

    @field_validator("broker_url", "result_backend")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        if url is not None:
            for part in url.split(";"):  # sentinel:// URLs come as a list
                check_redis_url(part)
        return url

    @field_validator("blob_url", "s3_endpoint_url", "redis_sentinel_master", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`VFER_BLOB_URL=` (as a Kubernetes overlay writes it) means unset."""
        return None if value == "" else value

    @field_validator("blob_url")
    @classmethod
    def _s3_url(cls, url: str | None) -> str | None:
        if url is not None and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^?#]*)?", url):
            raise ValueError("must be s3://BUCKET or s3://BUCKET/PREFIX")
        return url

    def check_model_name(self, name: str | None) -> None:
        """A request's model, as `vfer.models.resolver` reads it; where a model directory is
        configured, the worker (which sees it) answers for the names not shipped. A path is never a
        name (the options' pattern refuses separators)."""
        if name is not None and self.model_dir is None:
            resolve_model(name)

    @property
    def sentinel(self) -> bool:
        """Broker or result backend found through Redis Sentinel."""
        return any(url is not None and url.startswith("sentinel://") for url in (self.broker_url, self.result_backend))

    @property
    def embedded(self) -> bool:
        return self.broker_url is None

    @property
    def broker(self) -> str:
        return self.broker_url or EMBEDDED_BROKER

    @property
    def backend_url(self) -> str:
        """The result backend; embedded mode keeps results in this process's memory."""
        return self.result_backend or self.broker_url or EMBEDDED_BACKEND


def check_redis_url(url: str) -> None:
    """A broker or backend URL Redis' client can connect with: its scheme, a host, a port from 1 to
    65535 and a database number. The message never repeats the URL (its password may be in it)."""
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES:
        raise ValueError(f"must be a {', '.join(s + '://' for s in REDIS_SCHEMES)} URL")
    if parts.scheme == "memory":
        return
    given = parts.netloc.rpartition("@")[2].rpartition(":")[2]
    try:
        port = parts.port
    except ValueError:
        if not given.isdigit():
            raise ValueError(
                "its host:port cannot be read (a password holding / @ : must be percent-encoded)"
            ) from None
        port = 0
    if port is not None and not 0 < port < 65536:
        raise ValueError("its port must be a number from 1 to 65535")
    if not parts.hostname:
        raise ValueError("must name a host (redis://HOST:PORT/DB)")
    if parts.path.strip("/") and not parts.path.strip("/").isdigit():
        raise ValueError("its path must be a database number (redis://HOST:PORT/DB)")


SECRET_FIELDS = frozenset({"api_keys"})
REDIS_SCHEMES = ("redis", "rediss", "sentinel", "memory")
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://[^/@:?#]*):[^@]*@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"(?P<name>[?&;](password|pass|pwd)=)[^&;#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """A URL as logs and errors may show it: the password starred, in the user part or the query."""
    return _QUERY_PASSWORD.sub(r"\g<name>***", _URL_PASSWORD.sub(r"\g<scheme>:***@", url))


def mask_secrets(field: str, value: object) -> str:
    """A setting's value as an error may show it: keys hidden, passwords in URLs starred."""
    if field in SECRET_FIELDS:
        return "(hidden)"
    return repr(redact_url(value) if isinstance(value, str) else value)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Settings from the environment (and overrides); a bad value is one line naming its variable.
    A value is shown only for a field's own error, with its secrets masked; a rule about several
    settings shows none (its input is every setting, keys included)."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        if not field:
            raise InvalidOptionError(f"settings: {first['msg']}") from None
        shown = mask_secrets(field, first.get("input"))
        raise InvalidOptionError(f"{ENV_PREFIX}{field.upper()}: {first['msg']} (got {shown})") from None
