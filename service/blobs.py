"""Uploads on a shared directory (a compose or Kubernetes volume): written once, read by a worker.

Video bytes never travel in a Celery message; the task gets the blob's key. A blob is deleted
when its job ends, and `sweep` deletes any older than the time-to-live (abandoned jobs).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

_KEY = re.compile(r"^[0-9a-f]{32}$")


class BlobNotFoundError(LookupError):
    """The blob expired or never existed."""


class BlobStore:
    def __init__(self, root: Path, ttl_s: float) -> None:
        self.root = Path(root)
        self.ttl_s = ttl_s
        self.root.mkdir(parents=True, exist_ok=True)

    def new_key(self) -> str:
        return uuid.uuid4().hex

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise BlobNotFoundError(f"invalid blob key {key!r}")
        return self.root / key

    def partial_path(self, key: str) -> Path:
        """Where an upload is written before it is complete (never read by workers)."""
        return self.root / f".{key}.part"

    def commit(self, key: str) -> None:
        os.replace(self.partial_path(key), self.path(key))

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFoundError(f"upload {key} has expired or was deleted") from exc

    def delete(self, key: str) -> None:
        for path in (self.path(key), self.partial_path(key)):
            path.unlink(missing_ok=True)

    def sweep(self) -> int:
        """Delete blobs older than the time-to-live; returns how many."""
        cutoff = time.time() - self.ttl_s
        removed = 0
        for path in self.root.iterdir():
            if not path.is_file():
                continue
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
