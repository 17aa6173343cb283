"""Lost jobs found and sent again (README, "Nothing is lost").

Celery's Redis transport pops a message and only then records it as unacknowledged, so a worker
killed between the two loses the message: its job would stay queued or running until its result
expired. The gateway keeps a ledger of what it sent (task, arguments, queue) in the result
backend's Redis, and its reaper looks at every job that is not final each `VFER_REAPER_CHECK_S`:
a job whose message is in no queue and in no worker's hands (the transport's lists and its
`unacked` hash, read in one transaction) at two looks `CONFIRM_S` apart is sent again with the
same id and arguments, while its upload exists, up to SEND_LIMIT times; then it ends `job_lost`.
A message the broker still holds, or a job a worker holds the running lease of
(worker.deliveries), is never sent again, so a long queue or a long job is not a lost job; but a
job that started and whose lease lapsed while its message sits unacknowledged lost its worker,
and is sent again at the next two looks rather than after the visibility timeout. A worker skips
a delivery whose job has already ended, so a job's outcome is stored once.
One reaper works at a time across a deployment's gateway replicas (a Redis lock). Deployments
that share a Redis database keep apart by their job queue: each has its own ledger and lock, and
looks only for its own queues' messages.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import redis

from service.errors import JobNotFoundError
from service.jobs import QUEUED, JobClient, JobStatus
from vfer_jobs.broker import Held, held_messages
from vfer_jobs.contract import failed, running_lease_key

log = logging.getLogger("vfer.service.reaper")

SEND_LIMIT = 3  # sends of one job, the first included
CONFIRM_S = 5.0  # a message missing once may be between the transport's pop and its record
LOST = "job_lost"
_OPEN = "vfer-ledger:{}"  # per job queue, a sorted set: job id -> when to look at it next
_ENTRY = "vfer-ledger-{}"  # per job, a hash: task, args (JSON), sends, suspect
_LOCK = "vfer-reaper-lock:{}"  # per job queue
_LOCK_S = 60


@dataclass(frozen=True)
class Entry:
    task: str
    args: list[Any]
    sends: int
    suspect: bool  # its message was missing at the last look


class Ledger:
    """The jobs a deployment's gateways sent to `queue`, in Redis, until seen final or expired."""

    def __init__(self, client: redis.Redis, queue: str, check_s: float, ttl_s: int) -> None:
        self.client, self.queue, self.check_s, self.ttl_s = client, queue, check_s, ttl_s
        self._open, self._lock = _OPEN.format(queue), _LOCK.format(queue)

    def record(self, job_id: str, task: str, args: list[Any]) -> None:
        key = _ENTRY.format(job_id)
        fields: list[str | int] = ["task", task, "args", json.dumps(args), "sends", 1, "suspect", 0]
        with self.client.pipeline() as pipe:
            pipe.hset(key, items=fields)
            pipe.expire(key, self.ttl_s)
            pipe.zadd(self._open, {job_id: time.time() + self.check_s})
            pipe.execute()

    def due(self, now: float, limit: int = 1000) -> list[str]:
        return [_text(member) for member in self.client.zrangebyscore(self._open, 0, now, start=0, num=limit)]

    def entry(self, job_id: str) -> Entry | None:
        fields = {_text(k): _text(v) for k, v in self.client.hgetall(_ENTRY.format(job_id)).items()}
        if not fields:
            return None
        return Entry(fields["task"], json.loads(fields["args"]), int(fields["sends"]), fields["suspect"] == "1")

    def look_again(self, job_id: str, after_s: float, *, suspect: bool, sent: bool = False) -> None:
        key = _ENTRY.format(job_id)
        with self.client.pipeline() as pipe:
            pipe.hset(key, "suspect", int(suspect))
            if sent:
                pipe.hincrby(key, "sends", 1)
            pipe.zadd(self._open, {job_id: time.time() + after_s})
            pipe.execute()

    def forget(self, job_id: str) -> None:
        with self.client.pipeline() as pipe:
            pipe.zrem(self._open, job_id)
            pipe.delete(_ENTRY.format(job_id))
            pipe.execute()

    def lock(self) -> Any:
        """Held by the gateway replica whose reaper is working (expires if that replica dies)."""
        return self.client.lock(self._lock, timeout=_LOCK_S, blocking=False)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class Round:
    sent_again: int = 0
    lost: int = 0


class Reaper:
    """Looks at the ledger's due jobs, a round at a time; `queues` are where their messages wait
    (the job queue, and in the split topology the inference queue)."""

    def __init__(self, jobs: JobClient, ledger: Ledger, queues: tuple[str, ...]) -> None:
        self.jobs, self.ledger, self.queues = jobs, ledger, queues

    def round(self) -> Round:
        """Look at the jobs that are due; another replica's round in progress skips this one."""
        done = Round()
        lock = self.ledger.lock()
        if not lock.acquire(blocking=False):
            return done
        try:
            due = self.ledger.due(time.time())
            if due:
                held = held_messages(self.jobs.app, self.queues)
                for job_id in due:
                    self._look(job_id, held, done)
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:  # it expired during a slow round: the next one takes it
                log.warning("the reaper's lock expired during its round")
        return done

    def _look(self, job_id: str, held: Held, done: Round) -> None:
        entry = self.ledger.entry(job_id)
        status = self._status(job_id)
        if entry is None or status is None or status.finished:
            self.ledger.forget(job_id)
        elif self._running(job_id) or (job_id.encode() in held.messages and not self._orphaned(job_id, status, held)):
            self.ledger.look_again(job_id, self.ledger.check_s, suspect=False)
        elif not entry.suspect:
            self.ledger.look_again(job_id, CONFIRM_S, suspect=True)
        elif entry.sends < SEND_LIMIT and self.jobs.blobs.exists(job_id):
            self._send_again(job_id, entry)
            done.sent_again += 1
        else:
            self._end_lost(job_id, entry)
            done.lost += 1

    def _running(self, job_id: str) -> bool:
        """A worker holds the job's lease: its message may be gone (the transport gave a job that
        ran past the visibility timeout to a second worker, which stepped aside), the job is not."""
        return bool(self.jobs.app.backend.client.exists(running_lease_key(job_id)))

    @staticmethod
    def _orphaned(job_id: str, status: JobStatus, held: Held) -> bool:
        """A job that started, whose own message a worker still holds unacknowledged, but whose
        running lease has lapsed (checked before): that worker died mid-job. Redis would give the
        message back only after the visibility timeout (15 min); the job is sent again now, and the
        old message, when it comes back, finds the job ended and is skipped."""
        return status.status == "running" and job_id in held.own_unacked

    def _status(self, job_id: str) -> JobStatus | None:
        try:
            return self.jobs.status(job_id)
        except JobNotFoundError:  # its result expired
            return None

    def _send_again(self, job_id: str, entry: Entry) -> None:
        log.warning("job %s: its message was lost; sending it again (send %d)", job_id, entry.sends + 1)
        self.jobs.app.backend.store_result(job_id, {"submitted_at": time.time()}, QUEUED)
        self.jobs.send(entry.task, job_id, entry.args)
        self.ledger.look_again(job_id, self.ledger.check_s, suspect=False, sent=True)

    def _end_lost(self, job_id: str, entry: Entry) -> None:
        """Ended as a failure a caller can act on; stored as workers store outcomes (so a SUCCESS
        state, which Celery's backend never replaces: a late worker cannot change it)."""
        log.warning("job %s: its message was lost after %d sends; ending it %s", job_id, entry.sends, LOST)
        message = f"the job's message was lost {entry.sends} times, or its upload with it; submit the video again"
        self.jobs.app.backend.store_result(job_id, failed(LOST, message), "SUCCESS")
        self.jobs.blobs.delete_quietly(job_id)
        self.ledger.forget(job_id)
