"""The split topology's window store, alone: its writes ride out a Redis that goes away."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from worker import deliveries
from worker.windows import WindowStore


class AnswerLostOnce:
    """A Redis client whose first SET is applied but whose answer is lost, as in a failover."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.lost = False

    def set(self, key: str, value: str, nx: bool = False, px: int | None = None) -> bool | None:
        if nx and key in self.values:
            return None
        self.values[key] = value.encode()
        if not self.lost:
            self.lost = True
            raise redis.ConnectionError("Connection closed by server.")
        return True

    def get(self, key: str) -> bytes | None:
        return self.values.get(key)


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deliveries.time, "sleep", lambda _s: None)


def test_a_claim_whose_answer_was_lost_is_still_held_by_its_claimant() -> None:
    client: Any = AnswerLostOnce()
    store = WindowStore(client, ttl_s=60)
    assert store.claim("job") is True, "the retried claim finds its own token"
    assert store.claim("job") is False, "and nobody else gets it"
