"""The gRPC server: `vfer.v1.ExpressionService` on the same Celery workers as HTTP.

Unary `Predict` is POST /predict with typed messages, `ListModels` GET /models. `StreamPredict` turns each complete window
of a live stream into a job, one after the other: each window's job gets the core tracker's
state from the previous window's result, so a face keeps its id and a window searches near known
faces instead of the whole frame. What a stream holds is bounded: `stream_max_pending` complete
windows waiting; past that the server stops reading (gRPC flow control slows the client), and a
window that no worker finishes within `stream_stall_s` ends the stream with RESOURCE_EXHAUSTED.
Health checking and reflection are on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from service.auth import authenticate, new_job_id
from service.catalogue import served_models
from service.errors import (
    DeadlineExceededError,
    MalformedFrameError,
    UploadTooLargeError,
)
from service.gateway_settings import Settings
from service.jobs import JobClient, cancel_in_background, submit_with_blob, wait_for
from service.metrics import Metrics
from service.rpc.convert import list_models_response, predict_response, window_result
from service.rpc.status import grpc_status
from service.rpc.stream import given, stream_messages
from service.streaming import Streamer
from vfer.errors import EmptyInputError, NotAVideoError, VferError
from vfer.result import Result, StreamWindow
from vfer.sniff import refusal
from vfer_jobs.contract import PREDICT_TASK
from vfer_jobs.options import JobOptions, VideoJob, parse
from vfer_jobs.tracing import tracing_on
from vfer_rpc.v1 import expression_pb2 as pb
from vfer_rpc.v1 import expression_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ExpressionService"].full_name
API_KEY_METADATA = "x-api-key"
JOB_ID_METADATA = "x-job-id"  # initial and trailing metadata of Predict: the job, also when it failed
_END = object()


class ExpressionServicer(pb_grpc.ExpressionServiceServicer):
    def __init__(self, settings: Settings, jobs: JobClient, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.jobs = jobs
        self.streamer = Streamer(settings, jobs, metrics)

    def _authorize(self, context: grpc.aio.ServicerContext) -> str | None:
        """The caller's key (the owner of the jobs it creates), or None when no keys are configured."""
        given = dict(context.invocation_metadata() or ()).get(API_KEY_METADATA)
        text = given if isinstance(given, str) else None
        return authenticate(text, self.settings.api_keys, f"{API_KEY_METADATA} metadata entry")

    def _abandon_if_queued(self, submitted: asyncio.Future[None], job_id: str) -> None:
        if not submitted.cancelled() and submitted.exception() is None:
            cancel_in_background(self.jobs, job_id)

    async def Predict(self, request: pb.PredictRequest, context: grpc.aio.ServicerContext) -> pb.PredictResponse:
        try:
            owner = self._authorize(context)
            if isinstance(request, Undecodable):
                raise request.error()
            if not request.video:
                raise EmptyInputError("the video is empty")
            if len(request.video) > self.settings.max_upload_bytes:
                raise UploadTooLargeError(f"video exceeds the limit of {self.settings.max_upload_bytes} bytes")
            if reason := refusal(request.video[:512]):
                raise NotAVideoError(reason)
            options = parse(JobOptions, given(request.options, "model", "mode", "window_s", "stride_s"))
            self.settings.check_model_name(options.model)
            job = VideoJob(options=options, filename=request.filename or "upload")
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0:
                raise DeadlineExceededError("the deadline passed before the job was queued")
            job_id = new_job_id(owner)
            submitted = asyncio.ensure_future(submit_with_blob(self.jobs, PREDICT_TASK, job_id, request.video, job))
            try:
                await asyncio.shield(submitted)  # a job half-queued would escape its cancel
                # Named at once: a caller whose own deadline ends the call still learns its job.
                await context.send_initial_metadata(((JOB_ID_METADATA, job_id),))
                context.set_trailing_metadata(((JOB_ID_METADATA, job_id),))
                remaining = context.time_remaining()
                timeout = self.settings.task_time_limit_s if remaining is None else max(0.0, remaining - 0.05)
                status = await wait_for(self.jobs, job_id, timeout)
            except asyncio.CancelledError:  # the caller is gone (its deadline passed while queuing)
                submitted.add_done_callback(lambda done: self._abandon_if_queued(done, job_id))
                raise
            if not status.finished:
                await asyncio.to_thread(self.jobs.cancel, job_id)  # nobody will read its result
                raise DeadlineExceededError(f"job {job_id} did not finish before the deadline; it was cancelled")
            return predict_response(Result.model_validate(status.outcome()), status.job_id)
        except VferError as exc:
            await context.abort(grpc_status(exc.code), str(exc))
            raise  # unreachable: abort raises

    async def StreamPredict(
        self, request_iterator: AsyncIterator[pb.StreamRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WindowResult]:
        try:
            owner = self._authorize(context)
            async with contextlib.aclosing(self.streamer.windows(stream_messages(request_iterator), owner)) as windows:
                async for window in windows:
                    yield window_result(StreamWindow.model_validate(window))
        except VferError as exc:
            await context.abort(grpc_status(exc.code), str(exc))

    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        try:
            self._authorize(context)
            if isinstance(request, Undecodable):
                raise request.error()
            return list_models_response(served_models(self.settings))
        except VferError as exc:
            await context.abort(grpc_status(exc.code), str(exc))
            raise  # unreachable: abort raises


@dataclass(frozen=True)
class Undecodable:
    """A request whose bytes are no valid protobuf message: the method answers INVALID_ARGUMENT
    (gRPC's own deserialization failure would be a bare UNKNOWN)."""

    reason: str

    def error(self) -> MalformedFrameError:
        return MalformedFrameError(self.reason)


def _lenient(message: Any) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return message.FromString(data)
        except DecodeError as exc:
            return Undecodable(f"not a valid {message.DESCRIPTOR.name} message: {exc}")

    return parse


def _add_servicer(servicer: ExpressionServicer, server: grpc.aio.Server) -> None:
    """As the generated `add_ExpressionServiceServicer_to_server`, with lenient request parsing."""
    handlers = {
        "Predict": grpc.unary_unary_rpc_method_handler(
            servicer.Predict,
            request_deserializer=_lenient(pb.PredictRequest),
            response_serializer=pb.PredictResponse.SerializeToString,
        ),
        "ListModels": grpc.unary_unary_rpc_method_handler(
            servicer.ListModels,
            request_deserializer=_lenient(pb.ListModelsRequest),
            response_serializer=pb.ListModelsResponse.SerializeToString,
        ),
        "StreamPredict": grpc.stream_stream_rpc_method_handler(
            servicer.StreamPredict,
            request_deserializer=_lenient(pb.StreamRequest),
            response_serializer=pb.WindowResult.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))


async def start_grpc_server(
    settings: Settings, jobs: JobClient, *, host: str = "127.0.0.1", port: int = 0, metrics: Metrics | None = None
) -> tuple[grpc.aio.Server, int]:
    """Start the server; returns it and the port it bound (pass 0 for any free port)."""
    message_limit = settings.max_upload_bytes + 1024 * 1024
    interceptors = []
    if tracing_on():  # a span per call, continuing the caller's trace context from the metadata
        from opentelemetry.instrumentation.grpc import aio_server_interceptor

        interceptors.append(aio_server_interceptor())
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[("grpc.max_receive_message_length", message_limit), ("grpc.max_send_message_length", message_limit)],
    )
    _add_servicer(ExpressionServicer(settings, jobs, metrics), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, bound
