"""Prometheus metrics of one gateway: requests, latencies, queue depth, job outcomes."""

from __future__ import annotations

from collections import OrderedDict

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_SEEN_LIMIT = 10_000


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vfer_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vfer_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.queue_depth = Gauge("vfer_queue_depth", "jobs waiting for a worker", registry=self.registry)
        self.workers_failing = Gauge(
            "vfer_workers_failing",
            "worker nodes whose pool children cannot load what jobs need (GET /readyz says why)",
            registry=self.registry,
        )
        self.inference_queue_depth = Gauge(
            "vfer_inference_queue_depth",
            "split topology: windows (and job ends) waiting for an inference worker",
            registry=self.registry,
        )
        self.inference_backlog = Gauge(
            "vfer_inference_backlog",
            "split topology: windows waiting for or held by inference workers; faces workers pause at "
            "VFER_INFERENCE_MAX_PENDING",
            registry=self.registry,
        )
        self.outcomes = Counter(
            "vfer_job_outcomes", "finished jobs seen by this gateway", ["outcome"], registry=self.registry
        )
        self.streams_open = Gauge(
            "vfer_streams_open", "live streams (gRPC or WebSocket) this gateway is serving", registry=self.registry
        )
        self.stream_stalls = Counter(
            "vfer_stream_stalls",
            "live streams (gRPC or WebSocket) ended stream_stalled: a window not done within VFER_STREAM_STALL_S",
            registry=self.registry,
        )
        self.jobs_sent_again = Counter(
            "vfer_jobs_sent_again", "jobs whose lost message this gateway's reaper sent again", registry=self.registry
        )
        self.jobs_lost = Counter(
            "vfer_jobs_lost", "jobs the reaper ended job_lost (message lost too often)", registry=self.registry
        )
        self._counted: OrderedDict[str, None] = OrderedDict()

    def job_finished(self, job_id: str, outcome: str) -> None:
        """Count a job's outcome once, however often its status is read."""
        if job_id in self._counted:
            return
        self._counted[job_id] = None
        if len(self._counted) > _SEEN_LIMIT:
            self._counted.popitem(last=False)
        self.outcomes.labels(outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
