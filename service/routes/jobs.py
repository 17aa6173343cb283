"""GET and DELETE /jobs/{id}: a job's status and result, cancelling or forgetting it; its preview."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from service.auth import owns
from service.deps import ApiKeyDep, BlobsDep, JobsDep, MetricsDep
from service.errors import JobNotFoundError, PreviewNotFoundError
from service.schemas import AUTH, BROKER, JobBody, errors
from vfer_jobs.blobs import PREVIEW_MEDIA_TYPE, BlobNotFoundError, preview_key

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


_PREVIEW_RESPONSES = {
    200: {"content": {PREVIEW_MEDIA_TYPE: {}}, "description": "the preview: WebM (VP8), on the result's clock"},
    **errors({**AUTH, 404: "no such job (or another key's), or no preview of it"}),
}


@router.get(
    "/{job_id}/preview",
    response_class=Response,
    responses=_PREVIEW_RESPONSES,
    summary="A copy of the job's video that any browser plays (POST /predict?preview=true)",
)
async def get_preview(job_id: JobId, owner: ApiKeyDep, blobs: BlobsDep) -> Response:
    """The page shows a clip its browser cannot play (MPEG-PS, HEVC) with its boxes over this."""
    _check(job_id, owner)
    try:
        data = await run_in_threadpool(blobs.read, preview_key(job_id))
    except BlobNotFoundError:
        raise PreviewNotFoundError(
            f"no preview of job {job_id}: ask for one with POST /predict?preview=true; it is there once "
            "the job is done, and kept as long as its result"
        ) from None
    return Response(data, media_type=PREVIEW_MEDIA_TYPE, headers={"Cache-Control": "private, max-age=3600"})
