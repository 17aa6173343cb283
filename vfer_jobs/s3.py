"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph, GCS interoperability), for clusters.

A shared directory across nodes needs a ReadWriteMany volume, which most clusters cannot give;
every node reaches a bucket. The guarantees of the directory store hold: a blob is readable only
once committed (an object appears whole, on the upload's completion), `sweep` deletes blobs past
the time-to-live, and the job's end deletes its blob. Credentials come the standard AWS way
(`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, a profile, or a pod identity).
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timezone
from typing import Any

from vfer_jobs.blobs import BlobNotFoundError, BlobStore, PendingBlob, checked_key, is_blob_key
from vfer_jobs.settings import JobSettings

_SPOOL_IN_MEMORY = 8 * 1024 * 1024  # uploads larger than this are spooled to a temporary file
_DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes


class _SpooledUpload(PendingBlob):
    """Spooled locally while the client sends it, then uploaded in one go (multipart when large)."""

    def __init__(self, store: S3BlobStore, key: str) -> None:
        self.store, self.key = store, key
        self.file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by commit or discard)

    def commit(self) -> None:
        try:
            self.file.seek(0)
            self.store.client.upload_fileobj(self.file, self.store.bucket, self.key)
        finally:
            self.file.close()

    def discard(self) -> None:
        self.file.close()


class S3BlobStore(BlobStore):
    def __init__(self, client: Any, bucket: str, prefix: str, ttl_s: float) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.ttl_s = ttl_s

    @classmethod
    def from_settings(cls, settings: JobSettings) -> S3BlobStore:
        import boto3
        from botocore.config import Config

        assert settings.blob_url is not None
        bucket, _, prefix = settings.blob_url.removeprefix("s3://").partition("/")
        # Self-hosted stores (MinIO, Ceph) address buckets by path, not by DNS name.
        style = "path" if settings.s3_endpoint_url else "auto"
        config = Config(s3={"addressing_style": style}, retries={"max_attempts": 5, "mode": "standard"})
        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, config=config)
        return cls(client, bucket, prefix, settings.blob_ttl_s)

    def object_key(self, key: str) -> str:
        return self.prefix + checked_key(key)

    def begin(self, key: str) -> PendingBlob:
        return _SpooledUpload(self, self.object_key(key))

    def read(self, key: str) -> bytes:
        """The blob; a store that fails or cannot be reached is an OSError, as a volume's would
        be (the worker retries those), and a missing object is BlobNotFoundError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))["Body"]
            with body:
                data: bytes = body.read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise BlobNotFoundError(f"upload {key} has expired or was deleted") from exc
            raise OSError(f"object store: {exc}") from exc
        except BotoCoreError as exc:
            raise OSError(f"object store: {exc}") from exc
        return data

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return False
            raise OSError(f"object store: {exc}") from exc
        except BotoCoreError as exc:
            raise OSError(f"object store: {exc}") from exc
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def _older_than(self, age_s: float) -> list[str]:
        """Object keys of vfer's blobs (the bucket may hold other things) older than `age_s`."""
        cutoff = datetime.fromtimestamp(time.time() - age_s, tz=timezone.utc)
        found: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", ()):
                if item["LastModified"] < cutoff and is_blob_key(item["Key"].removeprefix(self.prefix)):
                    found.append(item["Key"])
        return found

    def stale(self, older_than_s: float) -> list[str]:
        return [key.removeprefix(self.prefix) for key in self._older_than(older_than_s)]

    def sweep(self) -> int:
        expired = self._older_than(self.ttl_s)
        for start in range(0, len(expired), _DELETE_BATCH):
            batch = [{"Key": key} for key in expired[start : start + _DELETE_BATCH]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(expired)
