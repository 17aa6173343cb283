"""The gateway's Celery app: it only sends tasks by name and reads their results."""

from __future__ import annotations

from celery import Celery

from vfer_jobs.broker import backend_spec
from vfer_jobs.celery_config import celery_config
from vfer_jobs.settings import JobSettings

# Celery's Redis result backend tries each write 20 times, a second apart, before it raises: a
# request that met a dead Redis between its checks answered 503 after 19 s. The gateway fails
# fast instead (the caller retries after Retry-After); workers ride a blip out (worker.celery_app).
FAIL_FAST = {"retry_policy": {"max_retries": 0}}


def create_celery(settings: JobSettings) -> Celery:
    app = Celery("vfer", broker=settings.broker, backend=backend_spec(settings.backend_url), set_as_current=False)
    config = celery_config(settings)
    config["result_backend_transport_options"] = {**config.get("result_backend_transport_options", {}), **FAIL_FAST}
    app.conf.update(config)
    return app
