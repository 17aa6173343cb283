"""Service errors, and the one place where every error becomes an HTTP status (or a WebSocket
close code) and JSON body.

Core errors (`vfer.errors`) and job errors carry a stable `code`; the body is always
`{"error": {"code": ..., "message": ...}}`.
"""

from __future__ import annotations

from vfer.errors import VferError


class ServiceError(VferError):
    code = "service_error"


class UploadTooLargeError(ServiceError):
    code = "upload_too_large"


class MissingUploadError(ServiceError):
    code = "missing_upload"


class MalformedUploadError(ServiceError):
    """A multipart body that does not parse, or carries parts other than the video."""

    code = "malformed_upload"


class UploadTimeoutError(ServiceError):
    """The client sent nothing for longer than the upload's idle timeout."""

    code = "upload_timeout"


class StorageUnavailableError(ServiceError):
    """The blob store cannot take the upload (full, read-only, unreachable)."""

    code = "storage_unavailable"


class UnsupportedMediaError(ServiceError):
    code = "not_a_video"


class QueueFullError(ServiceError):
    code = "queue_full"


class BrokerUnavailableError(ServiceError):
    code = "broker_unavailable"


class JobNotFoundError(ServiceError):
    code = "job_not_found"


class PreviewNotFoundError(ServiceError):
    code = "preview_not_found"


class UnauthorizedError(ServiceError):
    code = "unauthorized"


class MalformedFrameError(ServiceError):
    code = "invalid_input"


class StreamStalledError(ServiceError):
    code = "stream_stalled"


class DeadlineExceededError(ServiceError):
    code = "deadline_exceeded"


class JobFailedError(ServiceError):
    """A job that ended with an error: carries the job's own error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


HTTP_STATUS: dict[str, int] = {
    "empty_input": 400,
    "corrupt_video": 400,
    "invalid_input": 400,
    "missing_upload": 400,
    "malformed_upload": 400,
    "upload_timeout": 408,
    "not_found": 404,
    "method_not_allowed": 405,
    "upload_expired": 410,
    "unauthorized": 401,
    "job_not_found": 404,
    "preview_not_found": 404,
    "not_a_video": 415,
    "limit_exceeded": 413,
    "upload_too_large": 413,
    "invalid_option": 422,
    "model_not_found": 422,
    "time_limit_exceeded": 422,
    "invalid_parameters": 422,
    "queue_full": 429,
    "stream_stalled": 503,
    "deadline_exceeded": 504,
    "broker_unavailable": 503,
    "storage_unavailable": 503,
    "worker_crashed": 500,
    "job_lost": 500,
    "window_data_lost": 500,
    "resource_missing": 500,
    "internal_error": 500,
}


def http_status(code: str) -> int:
    return HTTP_STATUS.get(code, 500)


# WebSocket close codes (RFC 6455): 1008 for what the client sent, 1013 "try again later" when the
# service is overloaded or its broker away, 1011 for trouble on the server's side.
_WS_TRY_AGAIN = frozenset({"queue_full", "stream_stalled", "broker_unavailable", "storage_unavailable"})


def ws_close_code(code: str) -> int:
    if code in _WS_TRY_AGAIN:
        return 1013
    return 1008 if http_status(code) < 500 else 1011


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}
