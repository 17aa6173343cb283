"""The one exception tree of vfer; the edges (CLI, HTTP, gRPC) map it to exit codes and statuses.

VferError
├── InputError                 the caller's input is unusable (never retried)
│   ├── EmptyInputError        zero bytes
│   ├── NotAVideoError         no decodable video stream (text, still image, ...)
│   ├── CorruptVideoError      a video container that cannot be decoded
│   ├── LimitExceededError     too large: bytes, pixels, duration or frames
│   └── InvalidOptionError     a bad option value (window length, mode, ...)
├── ModelNotFoundError         an unknown model name or a missing checkpoint
├── ResourceError              a bundled resource (landmark model, weights) is missing
├── TimeLimitExceededError     the work ran past its deadline (a job's time limit)
└── JobCancelledError          the work was cancelled while it ran
"""

from __future__ import annotations


class VferError(Exception):
    """Base of every error vfer raises on purpose; `code` is stable and machine-readable."""

    code = "vfer_error"


class InputError(VferError):
    code = "invalid_input"


class EmptyInputError(InputError):
    code = "empty_input"


class NotAVideoError(InputError):
    code = "not_a_video"


class CorruptVideoError(InputError):
    code = "corrupt_video"


class LimitExceededError(InputError):
    code = "limit_exceeded"


class InvalidOptionError(InputError):
    code = "invalid_option"


class ModelNotFoundError(VferError):
    code = "model_not_found"


class ResourceError(VferError):
    code = "resource_missing"


class WindowDataError(VferError):
    """A job's stored windows lost (expired) or not fitting the model they were cut for."""

    code = "window_data_lost"


class TimeLimitExceededError(VferError):
    code = "time_limit_exceeded"


class JobCancelledError(VferError):
    code = "cancelled"
