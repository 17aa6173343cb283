"""Which blob store a deployment uses, from its settings: a shared directory or an S3 bucket."""

from __future__ import annotations

from vfer_jobs.blobs import BlobStore, DirectoryBlobStore
from vfer_jobs.s3 import S3BlobStore
from vfer_jobs.settings import JobSettings


def open_blob_store(settings: JobSettings) -> BlobStore:
    """The store the settings name: an S3 bucket (`VFER_BLOB_URL=s3://...`) or a shared directory."""
    if settings.blob_url is not None:
        return S3BlobStore.from_settings(settings)
    return DirectoryBlobStore(settings.blob_dir, settings.blob_ttl_s)
