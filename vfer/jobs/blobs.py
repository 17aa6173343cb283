"""Where uploads and stream windows wait for a worker: the blob store.

Video bytes never travel in a task message; the task gets the blob's key (the job's id). A blob
is written once (`writer` commits it only when complete, so a worker never reads half an
upload), deleted when its job ends, and `sweep` deletes any older than the time-to-live.

`BlobStore` is the interface; `DirectoryBlobStore` keeps blobs in a directory shared by gateway
and workers (one machine, or a compose / Kubernetes volume).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from vfer.jobs.settings import JobSettings

_KEY = re.compile(r"^[0-9a-f]{32}$")


class BlobNotFoundError(LookupError):
    """The blob expired or never existed."""


class BlobStore(Protocol):
    def writer(self, key: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        """A file to write the blob into: committed on a clean exit, discarded on an error."""

    def put(self, key: str, data: bytes) -> None: ...

    def read(self, key: str) -> bytes:
        """The blob's bytes; BlobNotFoundError when it expired or never existed."""

    def delete(self, key: str) -> None: ...

    def sweep(self) -> int:
        """Delete blobs older than the time-to-live; returns how many."""


def _checked(key: str) -> str:
    if not _KEY.match(key):
        raise BlobNotFoundError(f"invalid blob key {key!r}")
    return key


class DirectoryBlobStore:
    def __init__(self, root: Path, ttl_s: float) -> None:
        self.root = Path(root)
        self.ttl_s = ttl_s
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / _checked(key)

    def _partial(self, key: str) -> Path:
        return self.root / f".{_checked(key)}.part"

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[IO[bytes]]:
        partial = self._partial(key)
        try:
            with partial.open("wb") as out:
                yield out
            os.replace(partial, self.path(key))
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def put(self, key: str, data: bytes) -> None:
        with self.writer(key) as out:
            out.write(data)

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFoundError(f"upload {key} has expired or was deleted") from exc

    def delete(self, key: str) -> None:
        for path in (self.path(key), self._partial(key)):
            path.unlink(missing_ok=True)

    def sweep(self) -> int:
        cutoff = time.time() - self.ttl_s
        removed = 0
        for path in self.root.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def open_blob_store(settings: JobSettings) -> BlobStore:
    """The store the settings name (a shared directory)."""
    return DirectoryBlobStore(settings.blob_dir, settings.blob_ttl_s)
