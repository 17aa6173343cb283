"""POST /predict: upload a video, wait a little for its result or get a job to poll."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from service.auth import new_job_id
from service.deps import ApiKeyDep, BlobsDep, JobsDep, MetricsDep, SettingsDep
from service.errors import BrokerUnavailableError, error_body, http_status
from service.jobs import JobStatus, wait_for
from service.schemas import AUTH, BROKER, JobBody, errors
from service.uploads import declared_filename, receive_upload
from vfer.result import Result
from vfer_jobs.contract import PREDICT_TASK
from vfer_jobs.options import JobOptions, VideoJob

router = APIRouter(tags=["predict"])


class PredictQuery(JobOptions):
    """The query of POST /predict: the job's options (from the contract) and how long to wait."""

    wait: float | None = Field(None, ge=0, description="seconds to wait for the result (0: answer 202 at once)")
    filename: str | None = Field(
        None, max_length=255, description="the result's `source` for a raw-body upload (else Content-Disposition's)"
    )
    preview: bool = Field(
        False,
        description="also make a copy any browser plays (WebM, at most 480 px wide), on the result's clock: "
        "GET /jobs/{id}/preview once the job is done (for a clip the browser cannot play)",
    )

    def job_options(self) -> JobOptions:
        return JobOptions(**self.model_dump(exclude={"wait", "filename", "preview"}))


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


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Result, "description": "the prediction (the CLI's --json object), within `wait` seconds"},
    202: {"model": JobBody, "description": "not finished within `wait`: poll `status_url`"},
    **errors(
        {
            400: "empty upload, undecodable video, malformed multipart body, no `file` field",
            **AUTH,
            408: "the upload sent nothing for VFER_UPLOAD_IDLE_TIMEOUT_S",
            410: "the upload expired before a worker took the job",
            413: "over the byte, pixel, duration, frame or work limits",
            415: "not a video",
            422: "a bad parameter, an unknown model, or the job's time limit was reached",
            429: "VFER_MAX_QUEUE jobs are waiting (Retry-After)",
            500: "the job's worker crashed on it repeatedly",
            **BROKER,
        }
    ),
}


@router.post(
    "/predict",
    openapi_extra=_UPLOAD_BODY,
    responses=_RESPONSES,
    summary="Predict expressions in an uploaded video",
)
async def predict(
    request: Request,
    settings: SettingsDep,
    jobs: JobsDep,
    blobs: BlobsDep,
    metrics: MetricsDep,
    query: Annotated[PredictQuery, Query()],
    owner: ApiKeyDep,
) -> JSONResponse:
    settings.check_model_name(query.model)  # before a byte of the upload is read
    job_id = new_job_id(owner)
    filename = await receive_upload(request, blobs, job_id, settings.max_upload_bytes, settings.upload_idle_timeout_s)
    name = filename or query.filename or declared_filename(request) or "upload"
    job = VideoJob(options=query.job_options(), filename=name, preview=query.preview)
    try:
        await run_in_threadpool(jobs.submit, PREDICT_TASK, job_id, job)
    except BaseException:
        await run_in_threadpool(blobs.delete_quietly, job_id)  # the submit's error is the answer
        raise
    timeout = min(settings.default_wait_s if query.wait is None else query.wait, settings.max_wait_s)
    try:
        status = await wait_for(jobs, job_id, timeout) if timeout > 0 else JobStatus(job_id, "queued")
    except BrokerUnavailableError as exc:  # accepted already: the answer names the job to poll
        return accepted_but_unreachable(job_id, exc)
    return job_response(status, metrics)


def accepted_but_unreachable(job_id: str, exc: BrokerUnavailableError) -> JSONResponse:
    """503 for a job that was queued before the broker went away: its id, where to poll it once
    the broker is back (Retry-After), as every answer about an accepted job gives."""
    message = f"{exc}; job {job_id} was accepted: poll /jobs/{job_id} when the broker is back"
    body = error_body(exc.code, message) | {"job_id": job_id, "status_url": f"/jobs/{job_id}"}
    headers = {"X-Job-Id": job_id, "Location": f"/jobs/{job_id}", "Retry-After": "2"}
    return JSONResponse(body, status_code=503, headers=headers)
