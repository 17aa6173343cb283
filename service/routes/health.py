"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from service.deps import BlobsDep, JobsDep, MetricsDep, require_metrics_key
from service.schemas import AUTH, Readiness, errors

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Jobs can be taken: the broker and the upload store work (embedded: the model loaded)",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready: the body says what is missing"}},
)
async def readyz(request: Request, jobs: JobsDep, blobs: BlobsDep) -> JSONResponse:
    """Ready needs the broker and a writable upload store, not a live worker: jobs queue until one
    comes, so workers may scale to zero; `workers` says whether one answers right now and none
    says its pool children cannot load their models (`workers_failing`, by node). Embedded, the
    worker is this process."""
    broker = await run_in_threadpool(jobs.broker_reachable)
    storage = await run_in_threadpool(blobs.writable)
    embedded = request.app.state.embedded_worker
    workers = embedded.alive if embedded is not None else broker and await run_in_threadpool(jobs.workers_alive)
    ready = broker and storage and (workers if embedded is not None else True)
    failing = await run_in_threadpool(jobs.workers_failing) if broker else {}
    body = {
        "status": "ready" if ready else "not ready",
        "broker": broker,
        "storage": storage,
        "workers": workers and not failing,
        "workers_failing": failing,
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[Depends(require_metrics_key)],
    responses=errors(AUTH),
    response_class=PlainTextResponse,  # Prometheus' text format
)
async def metrics(jobs: JobsDep, metrics: MetricsDep) -> Response:
    gauges = [
        (metrics.queue_depth, lambda: jobs.queue_depth(jobs.settings.queue)),
        (metrics.workers_failing, lambda: len(jobs.workers_failing())),
    ]
    if jobs.settings.topology == "split":
        gauges.append((metrics.inference_queue_depth, lambda: jobs.queue_depth(jobs.settings.inference_queue)))
        gauges.append((metrics.inference_backlog, jobs.inference_backlog))
    for gauge, read in gauges:
        try:
            gauge.set(await run_in_threadpool(read))
        except Exception:  # a scrape while the broker is down still returns the other metrics
            gauge.set(float("nan"))
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
