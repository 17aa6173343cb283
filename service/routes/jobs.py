"""GET and DELETE /jobs/{id}: a job's status and result, cancelling or forgetting it."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.auth import owns
from service.deps import ApiKeyDep, JobsDep, MetricsDep
from service.errors import JobNotFoundError
from service.schemas import AUTH, BROKER, JobBody, errors

router = APIRouter(prefix="/jobs", tags=["jobs"])
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
JobId = Annotated[str, Path(description="the id returned by POST /predict")]


def _check(job_id: str, owner: str | None) -> None:
    """Unknown, malformed and other keys' jobs all look the same: 404."""
    if not _JOB_ID.match(job_id) or not owns(owner, job_id):
        raise JobNotFoundError(f"no job {job_id}")


_RESPONSES = {200: {"model": JobBody}, **errors({**AUTH, 404: "no such job (or another key's)", **BROKER})}


@router.get("/{job_id}", responses=_RESPONSES, summary="A job's status, with its result or error once finished")
async def get_job(job_id: JobId, owner: ApiKeyDep, jobs: JobsDep, metrics: MetricsDep) -> JSONResponse:
    _check(job_id, owner)
    status = await run_in_threadpool(jobs.status, job_id)
    if status.finished:
        metrics.job_finished(job_id, status.status)
    return JSONResponse(status.to_dict())


@router.delete("/{job_id}", responses=_RESPONSES, summary="Cancel a queued or running job, or forget a finished one")
async def delete_job(job_id: JobId, owner: ApiKeyDep, jobs: JobsDep) -> JSONResponse:
    _check(job_id, owner)
    status = await run_in_threadpool(jobs.cancel, job_id)
    return JSONResponse(status.to_dict())
