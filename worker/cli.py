"""`vfer worker`: run Celery worker processes against the configured broker."""

from __future__ import annotations

import argparse

from vfer.errors import InvalidOptionError

DEFAULT_NODE_NAME = "vfer@%h"  # %h: the host name (the pod or container); worker.probe pings it


def _run(args: argparse.Namespace) -> int:
    from celery import signals

    from vfer.jobs.settings import load_settings
    from worker.celery_app import create_worker_app
    from worker.settings import WorkerSettings
    from worker.tasks import warm_up

    settings = load_settings(WorkerSettings)
    if settings.embedded:
        raise InvalidOptionError("vfer worker needs VFER_BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
    app = create_worker_app(settings)
    app.set_default()  # the worker resolves tasks through the default app
    # Models load before the first job is taken: in each child process of a prefork pool, else here.
    if args.pool == "prefork":
        signals.worker_process_init.connect(lambda **_: warm_up(app), weak=False)
    else:
        warm_up(app)
    argv = ["worker", "-Q", args.queue or settings.queue, "-c", str(args.concurrency), "-P", args.pool]
    argv += ["--loglevel", args.loglevel, "-n", args.name, "--without-gossip", "--without-mingle"]
    app.worker_main(argv)
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("worker", help="run job workers (needs VFER_BROKER_URL)")
    parser.add_argument("--concurrency", type=int, default=1, help="worker processes")
    parser.add_argument("--pool", choices=("prefork", "solo", "threads"), default="prefork")
    parser.add_argument("--queue", default=None, help="queue to consume (default: VFER_QUEUE)")
    parser.add_argument("--name", default=DEFAULT_NODE_NAME, help="node name")
    parser.add_argument("--loglevel", default="INFO")
    parser.set_defaults(run=_run)
