"""`vfer worker`: run Celery worker processes against the configured broker."""

from __future__ import annotations

import argparse
import socket
from typing import TYPE_CHECKING

from vfer.errors import InvalidOptionError
from vfer_jobs.contract import CLASSIFY_TASK

if TYPE_CHECKING:
    from celery import Celery

    from worker.worker_settings import WorkerSettings

DEFAULT_NODE_NAME = "vfer@%h"  # %h: the host name (the pod or container); worker.probe pings it


def node_name(pattern: str) -> str:
    """A node name as Celery expands it (`%h`: this host's name)."""
    return pattern.replace("%h", socket.gethostname())


def _run(args: argparse.Namespace) -> int:
    from celery import signals

    from vfer_jobs.logs import use_format
    from vfer_jobs.settings import load_settings
    from vfer_jobs.tracing import trace_jobs
    from worker.celery_app import create_worker_app
    from worker.readiness import child_failed, child_ready
    from worker.tasks import warm_up
    from worker.worker_settings import WorkerSettings

    settings = load_settings(WorkerSettings)
    if settings.embedded:
        raise InvalidOptionError("vfer worker needs VFER_BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
    app = create_worker_app(settings)
    app.set_default()  # the worker resolves tasks through the default app
    for setup in (signals.after_setup_logger, signals.after_setup_task_logger):
        setup.connect(lambda logger, **_: use_format(settings.log_format, logger), weak=False)
    if args.role == "inference":
        trace_jobs("vfer-inference")
        return _run_inference(app, settings, args)

    # Models load (and tracing starts) before the first job is taken: in each child process of a
    # prefork pool, else here. A child that cannot load them says so (worker.readiness).
    queue, node = args.queue or settings.queue, node_name(args.name)

    def start_process(**_: object) -> None:
        trace_jobs("vfer-worker")
        try:
            warm_up(app)
        except Exception as exc:
            child_failed(app, queue, node, exc)
            raise
        child_ready(app, queue, node)

    if args.pool == "prefork":
        signals.worker_process_init.connect(start_process, weak=False)
    else:
        start_process()
    argv = ["worker", "-Q", queue, "-c", str(args.concurrency), "-P", args.pool]
    argv += ["--loglevel", args.loglevel, "-n", args.name, "--without-gossip", "--without-mingle"]
    app.worker_main(argv)
    return 0


def _run_inference(app: Celery, settings: WorkerSettings, args: argparse.Namespace) -> int:
    """One process that takes windows of many jobs from the inference queue and classifies them
    in batches: it holds twice a batch of unacknowledged messages, so the next batch fills while
    one runs."""
    from worker.batch_inference import InferenceTask

    if settings.topology != "split":
        raise InvalidOptionError("vfer worker --role inference needs VFER_TOPOLOGY=split")
    task = app.tasks[CLASSIFY_TASK]
    assert isinstance(task, InferenceTask)
    task.classifier(settings.model)  # loaded before the first window comes
    if settings.metrics_port is not None:
        port = task.metrics.serve(settings.metrics_port)
        print(f"inference metrics on :{port}/metrics", flush=True)
    task_prefetch = str(2 * settings.inference_max_batch)
    argv = ["worker", "-Q", args.queue or settings.inference_queue, "-c", "1", "-P", "solo"]
    argv += ["--prefetch-multiplier", task_prefetch, "--loglevel", args.loglevel, "-n", args.name]
    argv += ["--without-gossip", "--without-mingle"]
    app.worker_main(argv)
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("worker", help="run job workers (needs VFER_BROKER_URL)")
    parser.add_argument(
        "--role",
        choices=("jobs", "inference"),
        default="jobs",
        help="jobs: whole jobs, or (VFER_TOPOLOGY=split) their face work; inference: classify windows in batches",
    )
    parser.add_argument("--concurrency", type=int, default=1, help="worker processes")
    parser.add_argument("--pool", choices=("prefork", "solo", "threads"), default="prefork")
    parser.add_argument("--queue", default=None, help="queue to consume (default: VFER_QUEUE)")
    parser.add_argument("--name", default=DEFAULT_NODE_NAME, help="node name")
    parser.add_argument("--loglevel", default="INFO")
    parser.set_defaults(run=_run)
