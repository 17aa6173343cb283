"""GET and DELETE /jobs/{id}: a job's status and result, cancelling or forgetting it."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.deps import JobsDep, MetricsDep, require_api_key
from service.errors import JobNotFoundError

router = APIRouter(prefix="/jobs", dependencies=[Depends(require_api_key)], tags=["jobs"])
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
JobId = Annotated[str, Path(description="the id returned by POST /predict")]


def _check(job_id: str) -> None:
    if not _JOB_ID.match(job_id):
        raise JobNotFoundError(f"no job {job_id}")


@router.get("/{job_id}", summary="A job's status, with its result or error once finished")
async def get_job(job_id: JobId, jobs: JobsDep, metrics: MetricsDep) -> JSONResponse:
    _check(job_id)
    status = await run_in_threadpool(jobs.status, job_id)
    if status.finished:
        metrics.job_finished(job_id, status.status)
    return JSONResponse(status.to_dict())


@router.delete("/{job_id}", summary="Cancel a queued or running job, or forget a finished one")
async def delete_job(job_id: JobId, jobs: JobsDep) -> JSONResponse:
    _check(job_id)
    status = await run_in_threadpool(jobs.cancel, job_id)
    return JSONResponse(status.to_dict())
