"""Log lines that name their job: human text by default, one JSON object a line with
`VFER_LOG_FORMAT=json` (for Loki, Elasticsearch, CloudWatch and the like).

A JSON line holds `time` (UTC, ISO 8601), `level`, `logger`, `message`, the `job_id` when the line
was written on a job's behalf, `trace_id` and `span_id` when it was written inside a traced span
(vfer_jobs.tracing), and `error` (the traceback) for an exception. Nothing else: no
headers, no keys, no file bytes; a client's address appears only where the access log's own
message already has it.

The job is known through a context variable, `JOB_ID`, that the worker sets around every task
(worker.celery_app); the gateway's lines about a job name it in their message.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from vfer_jobs.tracing import current_ids

LogFormat = Literal["text", "json"]
JOB_ID: ContextVar[str | None] = ContextVar("vfer_job_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        job_id = JOB_ID.get()
        if job_id is not None:
            body["job_id"] = job_id
        ids = current_ids()
        if ids is not None:
            body["trace_id"], body["span_id"] = ids
        if record.exc_info:
            body["error"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False)


def use_format(fmt: LogFormat, logger: logging.Logger) -> None:
    """Give every handler of `logger` the chosen format; text keeps the handlers' own formatters."""
    if fmt == "json":
        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())


def uvicorn_log_config(fmt: LogFormat) -> dict[str, Any] | None:
    """uvicorn's logging configured for `fmt` (None: uvicorn's own, human text)."""
    if fmt != "json":
        return None
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["default"], "level": "INFO"},
    }
