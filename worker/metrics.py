"""An inference worker's Prometheus metrics (`VFER_METRICS_PORT`): what batching achieves."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


class InferenceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.windows = Counter(
            "vfer_inference_windows", "windows classified (rate(): windows per second)", registry=self.registry
        )
        self.batch_size = Histogram(
            "vfer_inference_batch_windows", "windows per forward pass", buckets=_BATCH_BUCKETS, registry=self.registry
        )
        self.batch_seconds = Histogram(
            "vfer_inference_batch_seconds",
            "time of one batch's forward pass",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.gpu_memory = Gauge(
            "vfer_inference_gpu_memory_bytes",
            "CUDA memory held by the model's tensors (0 on a CPU)",
            registry=self.registry,
        )

    def observe(self, windows: int, seconds: float, gpu_bytes: int) -> None:
        self.windows.inc(windows)
        self.batch_size.observe(windows)
        self.batch_seconds.observe(seconds)
        self.gpu_memory.set(gpu_bytes)

    def serve(self, port: int) -> int:
        """Serve /metrics on `port` (0: a free one); returns the port."""
        server, _ = start_http_server(port, addr="0.0.0.0", registry=self.registry)
        return int(server.server_port)
