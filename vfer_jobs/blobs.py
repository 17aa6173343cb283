"""Where uploads and stream windows wait for a worker: the blob store.

Video bytes never travel in a task message; the task gets the blob's key (the job's id). A blob
is written once (`begin` gives a pending blob that becomes readable only on `commit`, so a worker
never reads half an upload), deleted when its job ends, and `sweep` deletes any older than the
time-to-live.

`BlobStore` is the interface; `DirectoryBlobStore` keeps blobs in a directory shared by gateway
and workers (one machine, or a compose volume); `vfer_jobs.s3.S3BlobStore` keeps them in an
S3-compatible bucket, which every node of a cluster reaches without a shared volume.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[0-9a-f]{32}(-preview)?$")  # a job's id: its upload; then its preview
_PROBE_KEY = "f" * 32  # written and deleted by `writable`
PARTIAL_IDLE_S = 120.0  # a partial upload unwritten this long has lost its writer


class BlobNotFoundError(LookupError):
    """The blob expired or never existed."""


class PendingBlob(ABC):
    """A blob being written: `file` takes the bytes; nobody can read them before `commit`."""

    file: IO[bytes]

    @abstractmethod
    def commit(self) -> None:
        """Make the blob readable (may upload: the gateway runs it off its event loop)."""

    @abstractmethod
    def discard(self) -> None: ...


class BlobStore(ABC):
    @abstractmethod
    def begin(self, key: str) -> PendingBlob: ...

    @abstractmethod
    def read(self, key: str) -> bytes:
        """The blob's bytes; BlobNotFoundError when it expired or never existed."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a committed blob is stored under `key` (a lost job can be sent again only then)."""

    def delete_quietly(self, key: str) -> None:
        """Delete as cleanup: a store that fails (read-only, unreachable) is logged, never raised;
        the job's outcome or the caller's answer stands, and the sweeper deletes the blob later."""
        try:
            self.delete(key)
        except Exception:
            log.warning("could not delete upload %s; the sweeper will", key, exc_info=True)

    @abstractmethod
    def sweep(self) -> int:
        """Delete blobs older than the time-to-live; returns how many."""

    @abstractmethod
    def stale(self, older_than_s: float) -> list[str]:
        """Keys of committed blobs older than this: the gateway deletes those whose job ended."""

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[IO[bytes]]:
        """A file to write the blob into: committed on a clean exit, discarded on an error."""
        pending = self.begin(key)
        try:
            yield pending.file
            pending.commit()
        except BaseException:
            pending.discard()
            raise

    def put(self, key: str, data: bytes) -> None:
        with self.writer(key) as out:
            out.write(data)

    def writable(self) -> bool:
        """Whether a blob can be written and deleted now (readiness: a full or read-only store
        must take the gateway out of rotation, not answer every upload with an error)."""
        try:
            self.put(_PROBE_KEY, b"probe")
            self.delete(_PROBE_KEY)
        except Exception:
            return False
        return True


PREVIEW_SUFFIX = "-preview"
PREVIEW_MEDIA_TYPE = "video/webm"  # vfer.video.preview's output


def preview_key(job_id: str) -> str:
    """Where a job's playable preview waits (POST /predict?preview=true), beside its upload."""
    return job_id + PREVIEW_SUFFIX


def is_blob_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


def checked_key(key: str) -> str:
    if not is_blob_key(key):
        raise BlobNotFoundError(f"invalid blob key {key!r}")
    return key


class _PartialFile(PendingBlob):
    """Written beside the blob under a hidden name, renamed into place on commit."""

    def __init__(self, partial: Path, final: Path) -> None:
        self.partial, self.final = partial, final
        self.file = partial.open("wb")

    def commit(self) -> None:
        self.file.close()
        os.replace(self.partial, self.final)

    def discard(self) -> None:
        self.file.close()
        self.partial.unlink(missing_ok=True)


class DirectoryBlobStore(BlobStore):
    def __init__(self, root: Path, ttl_s: float) -> None:
        self.root = Path(root)
        self.ttl_s = ttl_s
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def _partial(self, key: str) -> Path:
        return self.root / f".{checked_key(key)}.part"

    def begin(self, key: str) -> PendingBlob:
        return _PartialFile(self._partial(key), self.path(key))

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFoundError(f"upload {key} has expired or was deleted") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        for path in (self.path(key), self._partial(key)):
            path.unlink(missing_ok=True)

    def _ages(self) -> Iterator[tuple[Path, str | None, float]]:
        """(path, key or None for a partial, seconds since its last write) of vfer's files only."""
        now = time.time()
        for path in self.root.iterdir():
            name = path.name
            key = name if is_blob_key(name) else None
            if key is None and not (name.startswith(".") and is_blob_key(name[1:].removesuffix(".part"))):
                continue
            try:
                yield path, key, now - path.stat().st_mtime
            except FileNotFoundError:
                continue

    def sweep(self) -> int:
        """Blobs past the TTL, and partial uploads nobody has written to for PARTIAL_IDLE_S (their
        writer died: a live upload writes at least every upload idle timeout)."""
        removed = 0
        for path, key, age in self._ages():
            if age > (self.ttl_s if key is not None else PARTIAL_IDLE_S):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def stale(self, older_than_s: float) -> list[str]:
        return [key for _, key, age in self._ages() if key is not None and age > older_than_s]
