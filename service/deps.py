"""Request dependencies: the per-app state that routes declare they need."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from service.auth import authenticate
from service.gateway_settings import Settings
from service.jobs import JobClient
from service.metrics import Metrics
from vfer_jobs.blobs import BlobStore

API_KEY_HEADER = "X-API-Key"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_jobs(request: Request) -> JobClient:
    jobs: JobClient = request.app.state.jobs
    return jobs


def get_blobs(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[JobClient, Depends(get_jobs)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


_API_KEY = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="needed when the server has API keys (VFER_API_KEYS)"
)
GivenKey = Annotated[str | None, Security(_API_KEY)]


def require_api_key(settings: SettingsDep, given: GivenKey) -> str | None:
    """When keys are configured, the request must carry one of them; returns it (the jobs' owner)."""
    return authenticate(given, settings.api_keys, f"{API_KEY_HEADER} header")


def require_metrics_key(settings: SettingsDep, given: GivenKey) -> None:
    """/metrics needs a key like everything else, unless the operator made it public."""
    if not settings.metrics_public:
        require_api_key(settings, given)


ApiKeyDep = Annotated[str | None, Depends(require_api_key)]
