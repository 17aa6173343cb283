"""The one place where error codes become gRPC status codes."""

from __future__ import annotations

import grpc

GRPC_STATUS: dict[str, grpc.StatusCode] = {
    "empty_input": grpc.StatusCode.INVALID_ARGUMENT,
    "corrupt_video": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_input": grpc.StatusCode.INVALID_ARGUMENT,
    "missing_upload": grpc.StatusCode.INVALID_ARGUMENT,
    "not_a_video": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_option": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_parameters": grpc.StatusCode.INVALID_ARGUMENT,
    "model_not_found": grpc.StatusCode.INVALID_ARGUMENT,
    "limit_exceeded": grpc.StatusCode.INVALID_ARGUMENT,
    "upload_too_large": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "queue_full": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "stream_stalled": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "unauthorized": grpc.StatusCode.UNAUTHENTICATED,
    "job_not_found": grpc.StatusCode.NOT_FOUND,
    "preview_not_found": grpc.StatusCode.NOT_FOUND,
    "upload_expired": grpc.StatusCode.NOT_FOUND,
    "broker_unavailable": grpc.StatusCode.UNAVAILABLE,
    "deadline_exceeded": grpc.StatusCode.DEADLINE_EXCEEDED,
    "upload_timeout": grpc.StatusCode.DEADLINE_EXCEEDED,
    "time_limit_exceeded": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "storage_unavailable": grpc.StatusCode.UNAVAILABLE,
    "worker_crashed": grpc.StatusCode.INTERNAL,
    "job_lost": grpc.StatusCode.INTERNAL,
    "window_data_lost": grpc.StatusCode.INTERNAL,
}


def grpc_status(code: str) -> grpc.StatusCode:
    return GRPC_STATUS.get(code, grpc.StatusCode.INTERNAL)
