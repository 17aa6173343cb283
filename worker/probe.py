"""`python -m worker.probe`: the worker image's health check: does this host's worker answer a
ping, and can its pool children load what jobs need?

The worker's main process answers Celery's remote-control ping through the broker even while
its pool is busy with a job, so a failed ping means a stuck or disconnected worker, not a long
job; a child that could not load its models says so in Redis (worker.readiness), which fails the
probe too, where the ping alone looked healthy. The image's health check and a Kubernetes
liveness probe run it; exit status 0 or 1.
"""

from __future__ import annotations

import sys

from celery import Celery

from vfer_jobs.broker import backend_spec
from vfer_jobs.celery_config import celery_config
from vfer_jobs.settings import load_settings
from worker.readiness import failing
from worker.worker_command import DEFAULT_NODE_NAME, node_name
from worker.worker_settings import WorkerSettings

TIMEOUT_S = 10.0


def main() -> int:
    settings = load_settings(WorkerSettings)
    node = node_name(DEFAULT_NODE_NAME)
    app = Celery("vfer-probe", broker=settings.broker, backend=backend_spec(settings.backend_url), set_as_current=False)
    app.conf.update(celery_config(settings))
    try:
        replies = app.control.ping(destination=[node], timeout=TIMEOUT_S)
    except Exception as exc:  # the broker itself is unreachable: not alive either
        print(f"probe: {exc}", file=sys.stderr)
        return 1
    if not replies:
        print(f"probe: {node} did not answer within {TIMEOUT_S:.0f} s", file=sys.stderr)
        return 1
    try:
        why = failing(app, settings.queue, node)
    except Exception as exc:  # the result backend is unreachable: not alive either
        print(f"probe: {exc}", file=sys.stderr)
        return 1
    if why is not None:
        print(f"probe: {node}'s pool children cannot run jobs: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
