"""Request dependencies: the per-app state that routes declare they need."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from service.errors import UnauthorizedError
from service.jobs import JobClient
from service.metrics import Metrics
from service.settings import Settings
from vfer.jobs.blobs import BlobStore

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


def require_api_key(request: Request, settings: SettingsDep) -> None:
    """When keys are configured, the request must carry one of them (compared in constant time)."""
    if not settings.api_keys:
        return
    given = request.headers.get(API_KEY_HEADER, "")
    if not any(hmac.compare_digest(given.encode(), key.encode()) for key in settings.api_keys):
        raise UnauthorizedError(f"a valid {API_KEY_HEADER} header is required")
