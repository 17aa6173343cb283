"""POST /predict: upload a video, wait a little for its result or get a job to poll."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from service.deps import BlobsDep, JobsDep, MetricsDep, SettingsDep, require_api_key
from service.errors import error_body, http_status
from service.jobs import JobStatus, wait_for
from service.uploads import receive_upload
from vfer.jobs.options import JobOptions, VideoJob
from vfer.jobs.tasks import PREDICT_TASK

router = APIRouter(dependencies=[Depends(require_api_key)], tags=["predict"])


class PredictQuery(JobOptions):
    """The query of POST /predict: the job's options (from the contract) and how long to wait."""

    wait: float | None = Field(None, ge=0, description="seconds to wait for the result (0: answer 202 at once)")

    def job_options(self) -> JobOptions:
        return JobOptions(**self.model_dump(exclude={"wait"}))


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
    query: Annotated[PredictQuery, Query()],
) -> JSONResponse:
    job_id = jobs.new_id()
    filename = await receive_upload(request, blobs, job_id, settings.max_upload_bytes)
    job = VideoJob(options=query.job_options(), filename=filename or "upload")
    try:
        await run_in_threadpool(jobs.submit, PREDICT_TASK, job_id, job)
    except BaseException:
        await run_in_threadpool(blobs.delete, job_id)
        raise
    timeout = min(settings.default_wait_s if query.wait is None else query.wait, settings.max_wait_s)
    status = await wait_for(jobs, job_id, timeout) if timeout > 0 else JobStatus(job_id, "queued")
    return job_response(status, metrics)
