"""POST /predict: upload a video, wait a little for its result or get a job to poll."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.deps import BlobsDep, JobsDep, MetricsDep, SettingsDep, require_api_key
from service.errors import error_body, http_status
from service.jobs import JobStatus, wait_for
from service.uploads import receive_upload
from vfer.errors import InvalidOptionError

router = APIRouter(dependencies=[Depends(require_api_key)], tags=["predict"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def job_response(status: JobStatus, metrics: MetricsDep) -> JSONResponse:
    """200 with the result, the job's error status, or 202 while it is not finished."""
    headers = {"X-Job-Id": status.job_id, "Location": f"/jobs/{status.job_id}"}
    if status.finished:
        metrics.job_finished(status.job_id, status.status)
    if status.status == "done":
        assert status.result is not None
        return JSONResponse(status.result, headers=headers)
    if status.status == "failed":
        assert status.error is not None
        body = error_body(status.error["code"], status.error["message"]) | {"job_id": status.job_id}
        return JSONResponse(body, status_code=http_status(status.error["code"]), headers=headers)
    return JSONResponse(status.to_dict(), status_code=202, headers=headers)


@router.post("/predict", openapi_extra=_UPLOAD_BODY, summary="Predict expressions in an uploaded video")
async def predict(
    request: Request,
    settings: SettingsDep,
    jobs: JobsDep,
    blobs: BlobsDep,
    metrics: MetricsDep,
    model: Annotated[str | None, Query(max_length=200, description="registered model (default: the server's)")] = None,
    mode: Annotated[Literal["fast", "paper"], Query()] = "fast",
    window_s: Annotated[float, Query(ge=0.2, le=60)] = 2.0,
    stride_s: Annotated[float, Query(gt=0, le=60)] = 1.0,
    wait: Annotated[
        float | None, Query(ge=0, description="seconds to wait for the result (0: answer 202 at once)")
    ] = None,
) -> JSONResponse:
    if stride_s > window_s:
        raise InvalidOptionError("stride_s must not exceed window_s")
    job_id = jobs.new_id()
    filename = await receive_upload(request, blobs, job_id, settings.max_upload_bytes)
    options = {
        "model": model,
        "mode": mode,
        "window_s": window_s,
        "stride_s": stride_s,
        "filename": filename or "upload",
    }
    try:
        await run_in_threadpool(jobs.submit, job_id, options)
    except BaseException:
        blobs.delete(job_id)
        raise
    timeout = min(settings.default_wait_s if wait is None else wait, settings.max_wait_s)
    status = await wait_for(jobs, job_id, timeout) if timeout > 0 else JobStatus(job_id, "queued")
    return job_response(status, metrics)
