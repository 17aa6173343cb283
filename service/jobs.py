"""Jobs on Celery, seen from the gateway: submit by task name, read state, cancel, queue depth.

A job's id is also its upload's blob key. Before the message is sent, the backend gets the
custom state QUEUED, so an id that the backend does not know (PENDING) is an unknown job.
Waiting for a result is woken by the notifier (see `service.notify`), not by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from celery import Celery
from celery.result import AsyncResult
from pydantic import BaseModel

from service.errors import BrokerUnavailableError, JobFailedError, JobNotFoundError, QueueFullError, StreamStalledError
from service.gateway_settings import Settings
from service.notify import SAFETY_POLL_S, Notifier
from vfer.errors import JobCancelledError
from vfer_jobs.blobs import PREVIEW_SUFFIX, BlobStore
from vfer_jobs.broker import KOMBU_ERRORS, backend_redis, inference_backlog
from vfer_jobs.contract import PROGRESS, cancel_flag, priority_of, running_lease_key, worker_failing_key
from vfer_jobs.tracing import JOB_ID, span, tag_job

if TYPE_CHECKING:
    from service.reaper import Ledger

QUEUED = "QUEUED"
TERMINAL = ("done", "failed", "cancelled")
_BROKER_ERRORS: tuple[type[BaseException], ...] = (*KOMBU_ERRORS, ConnectionError, TimeoutError, OSError)
_BROKER_ERRORS += (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)  # the backend's own


@dataclass
class JobStatus:
    job_id: str
    status: str  # queued, running, done, failed, cancelled
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    progress: dict[str, float] | None = None  # {"done_s", "duration_s"} of a running job

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def outcome(self) -> dict[str, Any]:
        """The result of a finished job, or its failure (with the job's own error code) raised."""
        if self.status == "done":
            assert self.result is not None
            return self.result
        if self.status == "failed":
            assert self.error is not None
            raise JobFailedError(self.error["code"], self.error["message"])
        raise StreamStalledError(f"job {self.job_id} is still {self.status}")

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"job_id": self.job_id, "status": self.status, "status_url": f"/jobs/{self.job_id}"}
        if self.result is not None:
            body["result"] = self.result
        if self.error is not None:
            body["error"] = self.error
        if self.progress is not None:
            body["progress"] = self.progress
        return body


class JobClient:
    def __init__(
        self, app: Celery, settings: Settings, blobs: BlobStore, notifier: Notifier, ledger: Ledger | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.blobs = blobs
        self.notifier = notifier
        self.ledger = ledger  # what was sent, for the reaper (none in embedded mode: nothing can lose it)
        self._admission = threading.Lock()

    def queue_depth(self, queue: str | None = None) -> int:
        """Messages waiting in the job queue, or in `queue` (not yet taken by a worker)."""
        try:
            with self.app.pool.acquire(block=True, timeout=5) as conn:
                declared = conn.default_channel.queue_declare(
                    queue=queue or self.settings.queue, passive=False, durable=True, auto_delete=False
                )
                return int(declared.message_count)
        except _BROKER_ERRORS as exc:
            raise BrokerUnavailableError(f"the job broker is unreachable: {exc}") from exc

    def inference_backlog(self) -> int:
        """Split topology: windows waiting for an inference worker or held by one; at the bound,
        faces workers pause (worker.split.wait_for_room)."""
        try:
            return inference_backlog(self.app, self.settings.inference_queue)
        except _BROKER_ERRORS as exc:
            raise BrokerUnavailableError(f"the job broker is unreachable: {exc}") from exc

    def submit(self, task: str, job_id: str, payload: BaseModel) -> None:
        """Queue the job whose blob is stored under `job_id`; raise 429/503-type errors.

        The depth check and the send are one step per gateway (a lock), so concurrent uploads
        never overshoot VFER_MAX_QUEUE; replicas each check before sending, so together they
        may overshoot by at most one job per replica."""
        args = [job_id, payload.model_dump(mode="json")]
        tag_job(job_id)  # the request's span names its job
        with self._admission, span("vfer.enqueue", **{JOB_ID: job_id, "vfer.task": task}):
            if self.queue_depth() >= self.settings.max_queue:
                raise QueueFullError(f"{self.settings.max_queue} jobs are waiting; try again shortly")
            if self.settings.topology == "split" and self.inference_backlog() >= self.settings.inference_max_pending:
                raise QueueFullError("the inference workers are behind (faces workers are paused); try again shortly")
            try:
                self.app.backend.store_result(job_id, {"submitted_at": time.time()}, QUEUED)
                if self.ledger is not None:
                    self.ledger.record(job_id, task, args)
                self.send(task, job_id, args)
            except _BROKER_ERRORS as exc:
                raise BrokerUnavailableError(f"the job broker is unreachable: {exc}") from exc

    def send(self, task: str, job_id: str, args: list[Any]) -> None:
        """The job's message onto the job queue at its task's priority: a live-stream window is
        served before uploaded videos that wait (`vfer_jobs.contract.priority_of`)."""
        self.app.send_task(task, args=args, task_id=job_id, queue=self.settings.queue, priority=priority_of(task))

    def status(self, job_id: str) -> JobStatus:
        try:
            result = AsyncResult(job_id, app=self.app)
            state, value = result.state, result.result if result.state != QUEUED else None
        except _BROKER_ERRORS as exc:
            raise BrokerUnavailableError(f"the result backend is unreachable: {exc}") from exc
        if state == "PENDING":
            raise JobNotFoundError(f"no job {job_id} (unknown, or its result expired)")
        if state == QUEUED:
            return JobStatus(job_id, "queued")
        if state == PROGRESS and isinstance(value, dict):
            return JobStatus(job_id, "running", progress=value)
        if state in ("STARTED", "RETRY"):
            return JobStatus(job_id, "running")
        if state == "REVOKED":
            return JobStatus(job_id, "cancelled")
        if state == "SUCCESS" and isinstance(value, dict):
            if value.get("ok"):
                return JobStatus(job_id, "done", result=value["result"])
            if value["error"]["code"] == JobCancelledError.code:  # it stopped on its cancellation
                return JobStatus(job_id, "cancelled")
            return JobStatus(job_id, "failed", error=value["error"])
        return JobStatus(job_id, "failed", error={"code": "internal_error", "message": f"the job failed: {value!r}"})

    def cancel(self, job_id: str) -> JobStatus:
        """Cancel a queued or running job, or forget a finished one."""
        status = self.status(job_id)
        try:
            if status.finished:
                AsyncResult(job_id, app=self.app).forget()
                return status
            self.app.backend.set(cancel_flag(job_id), "1")  # a running job stops at its next frame
            self.app.control.revoke(job_id)  # a waiting one is never run
            self.app.backend.store_result(job_id, None, "REVOKED")
            if status.status == "running":
                self._kill_if_still_running(job_id)
        except _BROKER_ERRORS as exc:
            raise BrokerUnavailableError(f"the job broker is unreachable: {exc}") from exc
        finally:
            self.blobs.delete_quietly(job_id)  # the cancel or the forget took effect either way
        return JobStatus(job_id, "cancelled")

    def _kill_if_still_running(self, job_id: str) -> None:
        """Cancellation is cooperative: killing a healthy pool child costs a new one that loads
        every model again. Only a job whose running lease (worker.deliveries) is still held
        `cancel_grace_s` after the cancel, stuck in one long call, has its child killed."""
        client = backend_redis(self.app)
        if client is None:  # the embedded mode's in-memory backend: no lease, no child to kill
            return

        def check() -> None:
            with contextlib.suppress(*_BROKER_ERRORS):
                if client.exists(running_lease_key(job_id)):
                    self.app.control.revoke(job_id, terminate=True, signal="SIGKILL")

        timer = threading.Timer(self.settings.cancel_grace_s, check)
        timer.daemon = True
        timer.start()

    def workers_failing(self) -> dict[str, str]:
        """Worker nodes whose pool children could not load what jobs need, and why."""
        client = backend_redis(self.app)
        if client is None:  # embedded: the worker is this process, and /readyz says whether it loaded
            return {}
        prefix = worker_failing_key(self.settings.queue, "")
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=100))
            values = client.mget(keys) if keys else []
        except _BROKER_ERRORS:
            return {}
        return {
            _text(key).removeprefix(prefix): _text(value)
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }

    def remove_orphans(self, older_than_s: float) -> int:
        """Delete uploads whose job has ended or is unknown (a time-limit kill, a Redis that
        restarted empty, a cancelled stream window, a gateway killed mid-submit): the job's end
        deletes its upload, but those ends never ran. Uploads younger than `older_than_s` are left
        alone (their job may be a moment from being queued). Previews go with their job's result."""
        removed = 0
        for key in self.blobs.stale(older_than_s):
            job_id = key.removesuffix(PREVIEW_SUFFIX)
            try:
                finished, known = self.status(job_id).finished, True
            except JobNotFoundError:
                finished, known = True, False
            # An upload goes once its job ends; a preview stays as long as its job's result.
            if not known or (finished and key == job_id):
                self.blobs.delete(key)
                removed += 1
        return removed

    def broker_reachable(self) -> bool:
        try:
            self.queue_depth()
        except BrokerUnavailableError:
            return False
        return True

    def workers_alive(self) -> bool:
        try:
            return bool(self.app.control.ping(timeout=1.0))
        except _BROKER_ERRORS:
            return False


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def wait_for(jobs: JobClient, job_id: str, timeout_s: float) -> JobStatus:
    """The job's status once it finishes or the time is up, woken when its stored state changes."""
    deadline = time.monotonic() + timeout_s
    async with jobs.notifier.watch(job_id) as changed:
        while True:
            changed.clear()  # before reading: a change after the read still wakes the wait below
            status = await asyncio.to_thread(jobs.status, job_id)
            remaining = deadline - time.monotonic()
            if status.finished or remaining <= 0:
                return status
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, SAFETY_POLL_S))


async def submit_with_blob(jobs: JobClient, task: str, job_id: str, data: bytes, job: BaseModel) -> None:
    """Store the job's bytes, then queue it; the bytes are deleted again if queueing fails (its
    error is the answer)."""
    await asyncio.to_thread(jobs.blobs.put, job_id, data)
    try:
        await asyncio.to_thread(jobs.submit, task, job_id, job)
    except BaseException:
        await asyncio.to_thread(jobs.blobs.delete_quietly, job_id)
        raise


def cancel_in_background(jobs: JobClient, job_id: str) -> None:
    """Cancel a job whose result nobody will read, without blocking the caller (a failed cancel
    is left to the sweeper)."""
    task = asyncio.get_running_loop().run_in_executor(None, jobs.cancel, job_id)
    task.add_done_callback(lambda done: done.exception())
