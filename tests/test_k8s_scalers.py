"""KEDA scales workers on the Redis lists Celery keeps their queue in, one per message priority:
a scaler that reads only the list named after the queue misses every uploaded video, which waits
one priority step back (`vfer_jobs.contract.VIDEO_PRIORITY`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kombu.transport.redis import Channel as RedisChannel

from vfer_jobs.broker import queue_lists
from vfer_jobs.contract import LIVE_PRIORITY, VIDEO_PRIORITY

K8S = Path(__file__).resolve().parents[1] / "k8s"
SCALERS = (K8S / "components" / "keda" / "scaledobject.yaml", K8S / "overlays" / "split" / "inference.yaml")


def scaled_objects(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc and doc["kind"] == "ScaledObject"]


@pytest.mark.parametrize("path", SCALERS, ids=lambda p: p.relative_to(K8S).as_posix())
def test_each_scaler_reads_every_list_its_queue_is_sent_to(path: Path) -> None:
    (scaler,) = scaled_objects(path)
    names = [trigger["metadata"]["listName"] for trigger in scaler["spec"]["triggers"]]
    queue = names[0]
    steps = dict(zip(RedisChannel.priority_steps, queue_lists(RedisChannel, queue), strict=True))
    assert names == [steps[LIVE_PRIORITY], steps[VIDEO_PRIORITY]], f"{path.name} scales on {names!r}"
