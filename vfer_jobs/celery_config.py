"""The Celery configuration that the gateway (which sends) and the workers (which run) both apply.

Plain data, so this contract imports no queue library: JSON only, late acknowledgement with
redelivery when a worker dies, time limits, expiring results.
"""

from __future__ import annotations

from typing import Any

from vfer_jobs.settings import JobSettings

EMBEDDED_POLL_S = 0.005  # the in-memory broker has no blocking read: how often its worker looks


def celery_config(settings: JobSettings) -> dict[str, Any]:
    transport: dict[str, Any] = {
        # A job whose worker died unacknowledged is requeued this long after it was taken,
        # by a sweep that every worker runs (every few seconds, however long the timeout).
        "visibility_timeout": settings.visibility_timeout_s,
        "unacked_restore_interval": max(1, min(10, settings.visibility_timeout_s // 4)),
        "unacked_restore_throttle": 1,
    }
    if settings.embedded:
        transport["polling_interval"] = EMBEDDED_POLL_S  # kombu's default, 1 s, would be every job's wait
    sentinel: dict[str, Any] = {}
    if settings.redis_sentinel_master is not None:  # sentinel:// URLs: ask the Sentinels for the primary
        transport["master_name"] = settings.redis_sentinel_master
        sentinel["result_backend_transport_options"] = {"master_name": settings.redis_sentinel_master}
    return {
        **sentinel,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_track_started": True,
        "result_expires": settings.result_ttl_s,
        "task_time_limit": settings.task_time_limit_s,
        "task_default_queue": settings.queue,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2.0,
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0.1,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "redis_socket_connect_timeout": 2.0,
        "redis_socket_timeout": 5.0,
        "result_backend_always_retry": False,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
    }
