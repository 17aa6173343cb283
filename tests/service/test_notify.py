"""Results wake the gateway through Redis pub/sub, not through polling the backend."""

from __future__ import annotations

import asyncio
import time
import uuid

from service.celery_client import create_celery
from service.gateway_settings import Settings
from service.notify import SAFETY_POLL_S, create_notifier


def test_a_stored_result_wakes_its_waiter_at_once(settings: Settings) -> None:
    async def scenario() -> tuple[float, bool]:
        celery = create_celery(settings)
        notifier = create_notifier(celery, settings.backend_url, embedded=False)
        job, other = uuid.uuid4().hex, uuid.uuid4().hex
        try:
            async with notifier.watch(job) as changed, notifier.watch(other) as unrelated:
                started = time.monotonic()
                await asyncio.to_thread(celery.backend.store_result, job, {"ok": True, "result": {}}, "SUCCESS")
                await asyncio.wait_for(changed.wait(), SAFETY_POLL_S)
                return time.monotonic() - started, unrelated.is_set()
        finally:
            await notifier.close()

    elapsed, woke_the_other = asyncio.run(scenario())
    assert elapsed < SAFETY_POLL_S / 4, f"woken after {elapsed * 1e3:.0f} ms: that is the safety poll, not a message"
    assert not woke_the_other, "only the job's own waiters wake"
