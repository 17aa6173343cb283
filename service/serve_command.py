"""`vfer serve`: the HTTP gateway, with an in-process worker when no broker is configured."""

from __future__ import annotations

import argparse
import logging.config
import os
import socket

from vfer.errors import InvalidOptionError


def _require_free(host: str, port: int | None, what: str) -> None:
    """One clear line (exit 2) for a port in use, before anything says it is serving."""
    if not port:
        return
    try:
        socket.create_server((host, port)).close()
    except OSError as exc:
        raise InvalidOptionError(
            f"{what} port {port} on {host} is not free ({exc.strerror}): choose another with --port/--grpc-port "
            "(or VFER_PORT/VFER_GRPC_PORT; `make serve PORT=8001`)"
        ) from None


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.gateway_settings import Settings
    from vfer_jobs.logs import uvicorn_log_config
    from vfer_jobs.settings import load_settings, redact_url

    pairs = (("host", args.host), ("port", args.port), ("grpc_port", args.grpc_port))
    overrides = {k: v for k, v in pairs if v is not None}
    settings = load_settings(Settings, **overrides)  # a bad value: one line naming its variable
    _require_free(settings.host, settings.port, "HTTP")
    _require_free(settings.host, settings.grpc_port, "gRPC")
    where = "embedded worker, in-memory queue" if settings.embedded else f"broker {redact_url(settings.broker)}"
    log_config = uvicorn_log_config(settings.log_format)
    if log_config is not None:
        logging.config.dictConfig(log_config)

    def say(line: str) -> None:  # the start-up lines, in the logs' format
        if log_config is None:
            print(line, flush=True)
        else:
            logging.getLogger("vfer.serve").info(line)

    say(f"vfer: serving on http://{settings.host}:{settings.port}/ ({where}); open it in a browser")
    if settings.grpc_port is not None:
        say(f"vfer: gRPC (vfer.v1.ExpressionService) on {settings.host}:{settings.grpc_port}")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=os.environ.get("VFER_LOG_LEVEL", "info"),
        ws_max_size=settings.max_frame_bytes + 1024,  # /stream's frames: refused before they are buffered
        ws_ping_interval=settings.ws_ping_s,
        ws_ping_timeout=settings.ws_pong_timeout_s,
        log_config=log_config or uvicorn.config.LOGGING_CONFIG,  # json, or uvicorn's own text
    )
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("serve", help="run the HTTP service (embedded worker unless VFER_BROKER_URL is set)")
    parser.add_argument("--host", default=None, help="default: VFER_HOST or 127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: VFER_PORT or 8000")
    parser.add_argument("--grpc-port", type=int, default=None, help="also serve gRPC here (default: VFER_GRPC_PORT)")
    parser.set_defaults(run=_run)
