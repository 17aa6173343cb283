"""Task names, and the outcome every task returns.

A task never raises for the caller's input: it returns `{"ok": true, "result": ...}` or
`{"ok": false, "error": {"code", "message"}}`, so that only infrastructure faults are retried.
"""

from __future__ import annotations

from typing import Any

PREDICT_TASK = "vfer.predict"  # one uploaded video (VideoJob)
PREDICT_WINDOW_TASK = "vfer.predict_window"  # one live-stream window (WindowJob)
CLASSIFY_TASK = "vfer.classify_window"  # split topology: one window of a job, for an inference worker

# Message priorities, as kombu's Redis transport reads them: a queue's lowest number is served
# first (steps 0, 3, 6, 9; no priority is 0). A live camera's window cannot wait behind uploaded
# videos (its stream stalls), so a video's job and its split-topology windows go one step back.
LIVE_PRIORITY = 0
VIDEO_PRIORITY = 3

Outcome = dict[str, Any]
PROGRESS = "PROGRESS"  # a running job's state while it reports {"done_s", "duration_s"}


def priority_of(task: str) -> int:
    """The priority a job's message is sent with: an uploaded video waits for live windows."""
    return VIDEO_PRIORITY if task == PREDICT_TASK else LIVE_PRIORITY


def cancel_flag(job_id: str) -> str:
    """The result-backend key that DELETE sets and a running job polls (its state may be
    overwritten by progress reports; a separate key is not)."""
    return f"vfer-cancel-{job_id}"


def running_lease_key(job_id: str) -> str:
    """The result-backend key held by the delivery that runs a job (worker.deliveries): the
    gateway's reaper does not send again a job whose worker holds it."""
    return f"vfer-running-{job_id}"


def worker_failing_key(queue: str, node: str) -> str:
    """The result-backend key a worker's pool child sets, for a while, when it cannot load what
    jobs need: the gateway's /readyz and /metrics and the worker's probe read it."""
    return f"vfer-worker-failing:{queue}:{node}"


def succeeded(result: dict[str, Any]) -> Outcome:
    return {"ok": True, "result": result}


def failed(code: str, message: str) -> Outcome:
    return {"ok": False, "error": {"code": code, "message": message}}
