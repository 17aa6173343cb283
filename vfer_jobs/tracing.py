"""OpenTelemetry traces, off unless configured: one trace per job across gateway, queue and worker.

Tracing turns on when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and then needs `pip install 'vfer[otel]'`; the
exporter reads the other standard `OTEL_*` variables itself (headers, protocol, sampler). The
maintained instrumentations do the wiring (FastAPI on the gateway, Celery on both sides, which
carries the W3C trace context in each message's headers); `span` adds vfer's own steps. With
tracing off, `span` costs one function call: no provider is set, so OpenTelemetry's API is a
no-op, and without the package it is not even imported.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping

from vfer.errors import InvalidOptionError

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
JOB_ID = "vfer.job_id"  # the attribute naming a span's job (the id a caller got as X-Job-Id)
_configured_pid: int | None = None


def tracing_configured() -> bool:
    """Whether the environment asks for traces (an OTLP endpoint is set)."""
    return any(os.environ.get(name) for name in _ENDPOINTS)


def tracing_on() -> bool:
    """Whether this process exports traces (`configure_tracing` ran here)."""
    return _configured_pid == os.getpid()


def configure_tracing(service: str) -> bool:
    """Set this process's tracer provider (once per process: a forked worker child sets its own)
    exporting to the OTLP endpoint. False when tracing is off."""
    global _configured_pid
    if tracing_on():
        return True
    if not tracing_configured():
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise InvalidOptionError(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed: pip install 'vfer[otel]'"
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured_pid = os.getpid()
    return True


def trace_jobs(service: str) -> bool:
    """Tracing on (when configured) with Celery's instrumentation: a sender puts the trace context
    in each message's headers and a worker's task span continues it. False when tracing is off."""
    if not configure_tracing(service):
        return False
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
    return True


@contextlib.contextmanager
def span(name: str, **attributes: str | int | float) -> Iterator[None]:
    """A span of vfer's own around a step, child of the current one (a no-op when tracing is off)."""
    if not tracing_on():
        yield
        return
    from opentelemetry import trace

    with trace.get_tracer("vfer").start_as_current_span(name, attributes=attributes):
        yield


def record_steps(started_ns: int, timings_ms: Mapping[str, float]) -> None:
    """A video's core steps as children of the current span, placed from the timings the core
    measured (`Extraction.timings_ms`, and the prediction's): the core imports no tracing, and
    decoding, face work and the model overlap in threads, so spans around calls would not show
    them. Probe, then decode and faces together (with each one's busy time); the model's span
    runs from the first frames to its last window (with its busy time)."""
    if not tracing_on() or "probe" not in timings_ms:
        return
    from opentelemetry import trace

    tracer = trace.get_tracer("vfer")
    probed = started_ns + int(timings_ms["probe"] * 1e6)
    found = probed + int(timings_ms.get("decode_and_faces", 0.0) * 1e6)
    steps: list[tuple[str, int, int, dict[str, float]]] = [
        ("vfer.probe", started_ns, probed, {}),
        (
            "vfer.decode_and_faces",
            probed,
            found,
            {"vfer.decode_busy_ms": timings_ms.get("decode", 0.0), "vfer.faces_busy_ms": timings_ms.get("faces", 0.0)},
        ),
    ]
    if "model" in timings_ms and "total" in timings_ms:
        ended = max(found, started_ns + int(timings_ms["total"] * 1e6))
        steps.append(("vfer.model", probed, ended, {"vfer.model_busy_ms": timings_ms["model"]}))
    for name, start, end, attributes in steps:
        tracer.start_span(name, start_time=start, attributes=attributes).end(end_time=end)


@contextlib.contextmanager
def linked_span(
    name: str, carriers: Iterable[Mapping[str, object]], **attributes: str | int | list[str]
) -> Iterator[None]:
    """A span for work done for many jobs at once (an inference batch): its own trace, linked to
    the span of every message in it (`carriers`: their headers, with the W3C trace context)."""
    if not tracing_on():
        yield
        return
    from opentelemetry import propagate, trace

    links = []
    for carrier in carriers:
        context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
        if context.is_valid:
            links.append(trace.Link(context))
    tracer = trace.get_tracer("vfer")
    with tracer.start_as_current_span(
        name, context=trace.set_span_in_context(trace.INVALID_SPAN), links=links, attributes=attributes
    ):
        yield


def flush_traces(timeout_ms: int = 5000) -> None:
    """Export the spans still batched (a process stopping would otherwise drop its last seconds)."""
    if tracing_on():
        from opentelemetry import trace

        provider = trace.get_tracer_provider()
        if hasattr(provider, "force_flush"):
            provider.force_flush(timeout_ms)


def current_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids, in hex as trace back-ends show them (None when
    tracing is off or no span is current): a log line carries them, to be found from its trace."""
    if not tracing_on():
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def tag_job(job_id: str) -> None:
    """Name the job on the current span (the request's, or the task's)."""
    if tracing_on():
        from opentelemetry import trace

        trace.get_current_span().set_attribute(JOB_ID, job_id)
