"""The FastAPI gateway: `create_app(settings)`; heavy clients are built in the lifespan.

With no broker configured (the embedded default) the same process also runs a worker, on an
in-memory broker, through the same task code the Celery workers run; the gateway finds that
worker through the `vfer.embedded_worker` entry point and never imports the worker package.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import entry_points
from typing import Any

from celery import Celery
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.celery_client import create_celery
from service.errors import ServiceError, error_body, http_status
from service.gateway_settings import Settings, get_settings
from service.jobs import JobClient
from service.metrics import Metrics
from service.notify import create_notifier
from service.reaper import Ledger, Reaper
from service.routes import docs, health, jobs, models, page, predict, stream
from vfer import __version__
from vfer.errors import VferError
from vfer_jobs.blobs import BlobStore
from vfer_jobs.stores import open_blob_store
from vfer_jobs.tracing import flush_traces, trace_jobs

log = logging.getLogger("vfer.service")
_STARLETTE_CODES = {404: "not_found", 405: "method_not_allowed"}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SWEEP_EVERY_S = 60.0
ORPHAN_AGE_S = 120.0  # an upload this old whose job has ended or is unknown is an orphan


async def _sweep_blobs(blobs: BlobStore, jobs: JobClient) -> None:
    """Every minute: uploads past their TTL, and orphans (uploads whose job ended without
    deleting them); a failing store or broker is retried at the next round."""
    while True:
        await asyncio.sleep(_SWEEP_EVERY_S)
        try:
            removed = await asyncio.to_thread(blobs.sweep)
            removed += await asyncio.to_thread(jobs.remove_orphans, ORPHAN_AGE_S)
        except Exception:
            log.warning("the upload sweep failed; retrying in %.0f s", _SWEEP_EVERY_S, exc_info=True)
            continue
        if removed:
            log.info("deleted %d expired or orphaned uploads", removed)


async def _reap(reaper: Reaper, metrics: Metrics, every_s: float) -> None:
    """Send lost jobs again (service.reaper); a failing broker is retried at the next round."""
    while True:
        await asyncio.sleep(every_s)
        try:
            done = await asyncio.to_thread(reaper.round)
        except Exception:
            log.warning("the reaper's round failed; retrying in %.0f s", every_s, exc_info=True)
            continue
        metrics.jobs_sent_again.inc(done.sent_again)
        metrics.jobs_lost.inc(done.lost)


_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _allowed_methods(request: Request) -> list[str]:
    """Every method the API documents at this path (Starlette's 405 names the first matching
    route's methods only, and each method of a path is a route of its own)."""
    methods: set[str] = set()
    for template, item in request.app.openapi()["paths"].items():
        parts = re.split(r"(\{[^/}]+\})", template)
        pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in item if method in _HTTP_METHODS}
    return sorted(methods)


def embedded_worker(app: Celery, settings: Settings) -> Any:
    """The in-process worker that the installed worker package provides (embedded mode)."""
    found = entry_points(group="vfer.embedded_worker", name="default")
    if not found:
        raise ServiceError(
            "embedded mode runs the model in this process and needs the worker installed "
            "(pip install 'vfer[worker]'); or set VFER_BROKER_URL and run `vfer worker` beside the gateway"
        )
    return next(iter(found)).load()(app, settings)


def lifespan_of(settings: Settings) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The gateway's lifespan: its clients (upload store, Celery, notifier, ledger) built at start,
    the embedded worker and the gRPC server started, the sweeper and the reaper run; all stopped
    at the end."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        blobs = open_blob_store(settings)
        celery = create_celery(settings)
        app.state.embedded_worker = embedded_worker(celery, settings) if settings.embedded else None
        notifier = create_notifier(celery, settings.backend_url, settings.embedded, settings.redis_sentinel_master)
        ledger = (
            None
            if settings.embedded
            else Ledger(celery.backend.client, settings.queue, settings.reaper_check_s, settings.result_ttl_s)
        )
        app.state.settings = settings
        app.state.blobs = blobs
        app.state.jobs = JobClient(celery, settings, blobs, notifier, ledger)
        app.state.metrics = Metrics()
        if app.state.embedded_worker is not None:
            app.state.embedded_worker.start()
        grpc_server = None
        if settings.grpc_port is not None:
            from service.rpc.server import start_grpc_server

            grpc_server, bound = await start_grpc_server(
                settings, app.state.jobs, host=settings.host, port=settings.grpc_port, metrics=app.state.metrics
            )
            log.warning("gRPC on %s:%d", settings.host, bound)
        background = [asyncio.create_task(_sweep_blobs(blobs, app.state.jobs))]
        if ledger is not None:
            queues = (settings.queue, settings.inference_queue) if settings.topology == "split" else (settings.queue,)
            reaper = Reaper(app.state.jobs, ledger, queues)
            background.append(asyncio.create_task(_reap(reaper, app.state.metrics, min(5.0, settings.reaper_check_s))))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            if grpc_server is not None:
                await grpc_server.stop(grace=2)
            if app.state.embedded_worker is not None:
                await asyncio.to_thread(app.state.embedded_worker.stop)
            await notifier.close()
            await asyncio.to_thread(flush_traces)

    return lifespan


# --- errors, in the one JSON shape, with HTTP statuses chosen by `service.errors.http_status` ---


async def vfer_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VferError)
    status = http_status(exc.code)
    headers = {"Retry-After": "2"} if status in (429, 503) else None
    return JSONResponse(error_body(exc.code, str(exc)), status_code=status, headers=headers)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own answers (no such route, method not allowed) in the documented shape."""
    assert isinstance(exc, StarletteHTTPException)
    code = _STARLETTE_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # Starlette names the first matching route's methods only
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers or None)


async def invalid_parameters(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return JSONResponse(error_body("invalid_parameters", details), status_code=422)


async def count_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Requests and latency by route; label values from fixed sets, so a client cannot grow the series."""
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    name = getattr(route, "path", "unmatched")
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        method = request.method if request.method in _METHODS else "other"
        metrics.requests.labels(method, name, str(response.status_code)).inc()
        metrics.latency.labels(name).observe(time.perf_counter() - started)
    return response


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway: its routes, the page's files, the error handlers and the request counter."""
    settings = settings or get_settings()
    app = FastAPI(
        title="vfer",
        version=__version__,
        summary="Video facial-expression recognition: upload a clip, get per-face expression distributions.",
        lifespan=lifespan_of(settings),
        docs_url=None,  # served by routes.docs from local assets, not a CDN
        redoc_url=None,
    )
    for router in (predict.router, jobs.router, models.router, stream.router, health.router, page.router, docs.router):
        app.include_router(router)
    if trace_jobs("vfer-gateway"):  # OTEL_EXPORTER_OTLP_ENDPOINT set: a trace per request, and per job on
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app)
    app.mount("/static", StaticFiles(directory=page.STATIC), name="static")
    app.mount(docs.ASSETS_URL, StaticFiles(directory=docs.ASSETS), name="docs-assets")
    app.add_exception_handler(VferError, vfer_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_parameters)
    app.middleware("http")(count_requests)
    return app
